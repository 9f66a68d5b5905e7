// ESM TypeScript through swc; type-checking is `npm run typecheck`, not the test transform.
const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } } }],
  },
};

export default {
  // Jest reads testTimeout from here only (in a project's entry it is ignored, and a test without
  // its own timeout would get 5 s): enough for real processes on a busy machine. The node and kind
  // suites give their long tests their own timeouts.
  testTimeout: 180_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/e2e/harness/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/e2e/local/**/*.int.test.ts'],
    },
    // e2e/node: the story on a real node of this machine (kubelet, kube-proxy, containerd). Root only.
    {
      ...shared,
      displayName: 'node',
      testMatch: ['<rootDir>/e2e/node/**/*.node.test.ts'],
    },
    // e2e/kind: the story on a kind cluster. Needs a Docker engine (skipped without one); minutes per test.
    {
      ...shared,
      displayName: 'kind',
      testMatch: ['<rootDir>/e2e/kind/**/*.kind.test.ts'],
    },
  ],
};
