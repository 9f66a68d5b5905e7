/** `npm run bench -- NAME [--json]`: runs one benchmark; with --json its last line is one JSON object. */
import { benchBurst } from './burst.js';
import { benchCharts } from './charts.js';
import { benchDns } from './dns.js';
import { benchHaproxy } from './haproxy.js';
import { benchLatency } from './latency.js';
import { benchNodeDns } from './node-dns.js';
import { benchScale } from './scale.js';

type Bench = (say: (line: string) => void) => Promise<object>;

const BENCHES: Record<string, Bench> = {
  latency: benchLatency,
  burst: benchBurst,
  scale: benchScale,
  dns: benchDns,
  haproxy: benchHaproxy,
  'node-dns': benchNodeDns,
  charts: benchCharts,
};

const [name = '', ...flags] = process.argv.slice(2);
const bench = BENCHES[name];
if (!bench) {
  process.stderr.write(`usage: npm run bench -- ${Object.keys(BENCHES).join('|')} [--json]\n`);
  process.exit(2);
}
const started = performance.now();
const say = (line: string) => process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
const result = await bench(say);
for (const [key, value] of Object.entries(result)) say(`${key}: ${String(value)}`);
if (flags.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
