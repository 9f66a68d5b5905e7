/**
 * `npm run bench -- burst [--json]`: 1,000 Ingress creations spread over about 10 s (100/s), as
 * a deploy pipeline or a namespace restore makes them. Counts the ConfigMap revisions the
 * controller writes (at most 1 + burst seconds with --write-interval 1s) and times convergence:
 * from the last create call returning to the revision that carries every host.
 */
import { cleanupAll } from '../e2e/harness/index.js';
import { round, sleep, startBenchCluster, type BenchCluster } from './cluster.js';

const EVENTS = 1_000;
const PER_SECOND = 100;
const SETTLE_MS = 3_000;

export async function benchBurst(say: (line: string) => void): Promise<object> {
  let cluster: BenchCluster | undefined;
  try {
    cluster = await startBenchCluster('bench-burst');
    const controller = await cluster.startController();
    const writesBefore = await controller.writesTotal();
    const from = cluster.revisions.length;
    say(`controller ready; creating ${EVENTS} Ingresses at ${PER_SECOND}/s`);
    const hosts = Array.from({ length: EVENTS }, (_, i) => `burst-${i}.apps.example.com`);
    const started = performance.now();
    const inFlight: Array<Promise<void>> = [];
    for (let i = 0; i < EVENTS; i++) {
      const due = started + (i * 1000) / PER_SECOND;
      if (due > performance.now()) await sleep(due - performance.now());
      inFlight.push(cluster.createIngress(`burst-${i}`, [hosts[i] as string]));
    }
    await Promise.all(inFlight);
    const lastEvent = performance.now();
    const burstMs = lastEvent - started;
    const complete = await cluster.waitForRouted(hosts, { from, timeoutMs: 30_000 });
    await sleep(SETTLE_MS);
    const writes = (await controller.writesTotal()) - writesBefore;
    const revisions = cluster.revisions.length - from;
    say(`burst took ${round(burstMs)} ms; ${writes} ConfigMap writes (${revisions} revisions watched); converged ${round(complete.at - lastEvent)} ms after the last create`);
    return {
      events: EVENTS,
      burst_ms: round(burstMs),
      configmap_writes: writes,
      converged_ms: round(Math.max(0, complete.at - lastEvent)),
      write_limit: 1 + Math.ceil(burstMs / 1000),
    };
  } finally {
    await (cluster ? cluster.close() : cleanupAll());
  }
}
