import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './processes.js';

/**
 * A unique temp dir for one test suite (logs, data dirs, kubeconfigs), removed by cleanupAll()
 * unless HAIRPIN_KEEP_TMP=1, in which case its path is printed so the logs can be read.
 */
export function makeTmpDir(label: string): string {
  const safe = label.replace(/[^a-zA-Z0-9-]+/g, '-').slice(0, 40);
  const dir = mkdtempSync(join(tmpdir(), `hp-e2e-${safe}-`));
  registerCleanup(`remove ${dir}`, () => {
    if (process.env.HAIRPIN_KEEP_TMP === '1') {
      process.stderr.write(`[e2e] HAIRPIN_KEEP_TMP=1: kept ${dir}\n`);
      return;
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  return dir;
}
