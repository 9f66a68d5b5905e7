/**
 * jest globalSetup of the integration project: builds the controller once, and makes sure the
 * binaries the suites need are installed (hack/tools builds what is missing, which takes minutes
 * on a fresh machine: better here, without a test timeout, than inside a beforeAll).
 *
 * Self-contained on purpose: jest loads globalSetup through require() without the project's
 * moduleNameMapper, so relative `.js` imports and import.meta do not work here. It shares two
 * process.env conventions with the harness, which jest's test files then see:
 *   HAIRPIN_E2E_BUILT=1          dist/ is fresh (build.ts skips its own build)
 *   HAIRPIN_TOOL_<NAME>=<path>   the resolved binary (tools.ts uses it instead of hack/tools)
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const REQUIRED = ['etcd', 'kube-apiserver', 'kubectl', 'coredns', 'dig'] as const;

export default function globalSetup(_globalConfig: unknown, projectConfig: { rootDir: string }): void {
  const root = projectConfig.rootDir;
  let started = Date.now();
  if (process.env.HAIRPIN_E2E_BUILT !== '1') {
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`the controller does not build (tsc -p tsconfig.build.json):\n${String(stdout ?? '')}${String(stderr ?? '')}`);
    }
    process.env.HAIRPIN_E2E_BUILT = '1';
    process.stderr.write(`\n[e2e] built dist/ in ${Date.now() - started} ms\n`);
  }
  started = Date.now();
  // One at a time: hack/tools locks its cache anyway, and Go builds compete for the cores.
  for (const name of REQUIRED) {
    const env = `HAIRPIN_TOOL_${name.toUpperCase().replaceAll('-', '_')}`;
    if (process.env[env]) continue;
    let stdout: string;
    try {
      stdout = execFileSync(join(root, 'hack/tools'), ['path', name], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60 * 60_000 });
    } catch (error) {
      const status = (error as { status?: number }).status;
      throw new Error(`hack/tools path ${name} failed (exit ${status}${status === 3 ? ': not obtainable on this machine' : ''})`);
    }
    process.env[env] = stdout.trim().split('\n').at(-1) ?? '';
  }
  process.stderr.write(`[e2e] tools ready in ${Date.now() - started} ms\n`);
}
