import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './tools.js';

const BUILT = 'HAIRPIN_E2E_BUILT';

/**
 * Compiles src/ to dist/ (`tsc -p tsconfig.build.json`, the same build as `npm run build`) on a
 * suite's first use. The marker is process.env, which does not outlive one test file: a run of
 * many suites would build once per file, so hack/test.sh builds first and sets
 * HAIRPIN_E2E_BUILT=1, which skips the build (dist/ is already fresh).
 */
export function ensureBuilt(): void {
  if (process.env[BUILT] === '1') return;
  const started = Date.now();
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`the controller does not build (tsc -p tsconfig.build.json):\n${String(stdout ?? '')}${String(stderr ?? '')}`);
  }
  process.env[BUILT] = '1';
  process.stderr.write(`[e2e] built dist/ in ${Date.now() - started} ms\n`);
}
