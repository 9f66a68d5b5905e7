/**
 * `npm run bench -- latency [--json]`: lone changes. Each sample creates one Ingress after a quiet
 * spell longer than --write-interval and times it from the create call returning to the
 * ConfigMap watch event whose Corefile carries the host: what a user waits for, minus CoreDNS's
 * own reload. The original project polled every 15 s; that is its design constant, not a figure
 * measured here.
 */
import { cleanupAll } from '../e2e/harness/index.js';
import { percentile, round, sleep, startBenchCluster, type BenchCluster } from './cluster.js';
import { saveSamples } from './samples.js';

const EVENTS = 60;
/** Longer than the default --write-interval (1s), so every change is the first after quiet. */
const QUIET_MS = 1_100;
const SEED_POLL_PERIOD_MS = 15_000;

export async function benchLatency(say: (line: string) => void): Promise<object> {
  let cluster: BenchCluster | undefined;
  try {
    cluster = await startBenchCluster('bench-latency');
    await cluster.startController();
    say(`controller ready; ${EVENTS} lone Ingress creations, ${QUIET_MS} ms apart`);
    const latencies: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      await sleep(QUIET_MS);
      const host = `lone-${i}.latency.example.com`;
      const from = cluster.revisions.length;
      await cluster.createIngress(`lone-${i}`, [host]);
      const created = performance.now();
      const revision = await cluster.waitForRouted([host], { from, timeoutMs: 10_000 });
      latencies.push(revision.at - created);
    }
    saveSamples('latency', { latencies_ms: latencies.map((ms) => round(ms, 2)) });
    return {
      events: EVENTS,
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      max_ms: round(Math.max(...latencies)),
      seed_poll_period_ms: SEED_POLL_PERIOD_MS,
    };
  } finally {
    await (cluster ? cluster.close() : cleanupAll());
  }
}
