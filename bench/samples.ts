/**
 * Raw samples a benchmark keeps for bench/charts.ts: bench/results/NAME.json, overwritten by each
 * run, committed beside RESULTS.md so the charts can be regenerated and checked against the figures.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function saveSamples(name: string, samples: object): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ recordedAt: new Date().toISOString(), ...samples }, null, 1)}\n`);
  return file;
}

export function loadSamples<T>(name: string): (T & { recordedAt: string }) | undefined {
  try {
    return JSON.parse(readFileSync(join(RESULTS_DIR, `${name}.json`), 'utf8')) as T & { recordedAt: string };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
