import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './tools.js';

const BUILT = 'HAIRPIN_E2E_BUILT';

/**
 * Compiles src/ to dist/ once per test run (`tsc -p tsconfig.build.json`, the same build as
 * `npm run build`). global-setup.ts calls it before any suite; a suite run without that global
 * setup builds on first use. The marker lives in process.env, which jest's test files share with
 * the global setup. HAIRPIN_E2E_BUILT=1 skips the build (dist/ is already fresh).
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
