/**
 * `npm run bench -- haproxy [--json]`: the live-update scenario of e2e/harness/live-update.ts
 * with a fixed request budget. Endpoint changes run back to back while the budget is spent; each
 * is timed from the EndpointSlice write to HAProxy serving the new set. The throughput ratio
 * compares the same client through the hairpin HAProxy and straight to nginx (with a PROXY line
 * of its own), one backend each, alternating rounds, in the same run; the ratio against the seed
 * puts the original hairpin-proxy's static HAProxy (e2e/harness/seed-haproxy.ts) in those rounds
 * too, forwarding to the same nginx.
 */
import { cleanupAll, ENDPOINT_SETS, makeTmpDir, POD_ADDRESSES, runLoad, startLiveUpdateScenario, type LoadResult } from '../e2e/harness/index.js';
import { freePorts } from '../e2e/harness/ports.js';
import { startSeedHaproxy } from '../e2e/harness/seed-haproxy.js';
import { wrkRate } from './wrk.js';

const REQUESTS = 20_000;
const CONCURRENCY = 8;
const MIN_CHANGES = 100;
const THROUGHPUT_ROUNDS = 3;
const THROUGHPUT_REQUESTS = 3_000;
const WRK_SECONDS = 4;

export interface HaproxyBenchResult {
  requests: number;
  failed: number;
  endpoint_changes: number;
  reloads_for_server_changes: number;
  update_p50_ms: number;
  update_p99_ms: number;
  update_max_ms: number;
  proxy_throughput_ratio: number;
  direct_requests_per_second: number;
  proxied_requests_per_second: number;
  proxy_throughput_ratio_new_connections: number;
  /** Through our HAProxy over through the original project's, same client and nginx (wrk, keep-alive). */
  proxy_throughput_ratio_vs_seed: number;
  seed_requests_per_second: number;
}

export async function benchHaproxy(say: (line: string) => void): Promise<HaproxyBenchResult> {
  try {
    const tmpDir = makeTmpDir('bench-haproxy');
    const scenario = await startLiveUpdateScenario({ tmpDir });
    const [pod = ''] = POD_ADDRESSES;
    await scenario.setEndpoints([pod]);
    const [seedPort = 0] = await freePorts(1);
    await startSeedHaproxy({ tmpDir, bindAddress: '127.0.0.1', targetServer: pod, ports: [{ listen: seedPort, target: scenario.podPort }] });
    // Keep-alive connections (wrk): what the proxy hop costs per request.
    const wrkDirect: number[] = [];
    const wrkProxied: number[] = [];
    const wrkSeed: number[] = [];
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      wrkDirect.push(await wrkRate(`http://${pod}:${scenario.plainPort}/`, { connections: CONCURRENCY, seconds: WRK_SECONDS }));
      // Ours and the seed swap places every round: on a shared machine the load drifts.
      const ours = () => wrkRate(`http://127.0.0.1:${scenario.frontPort}/`, { connections: CONCURRENCY, seconds: WRK_SECONDS });
      const seed = () => wrkRate(`http://127.0.0.1:${seedPort}/`, { connections: CONCURRENCY, seconds: WRK_SECONDS });
      if (round % 2 === 0) {
        wrkProxied.push(await ours());
        wrkSeed.push(await seed());
      } else {
        wrkSeed.push(await seed());
        wrkProxied.push(await ours());
      }
    }
    const mean = (rates: number[]) => rates.reduce((a, b) => a + b, 0) / rates.length;
    say(`throughput (wrk, ${THROUGHPUT_ROUNDS} alternating rounds of ${WRK_SECONDS} s, ${CONCURRENCY} keep-alive connections): direct ${mean(wrkDirect).toFixed(0)}/s, through hairpin HAProxy ${mean(wrkProxied).toFixed(0)}/s, through the original hairpin-proxy's HAProxy ${mean(wrkSeed).toFixed(0)}/s`);
    // A new connection per request: also what the hop costs to set up (two TCP handshakes, not one).
    const direct: LoadResult[] = [];
    const proxied: LoadResult[] = [];
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      direct.push(await runLoad({ host: pod, port: scenario.podPort, requests: THROUGHPUT_REQUESTS, concurrency: CONCURRENCY, proxyHeader: true }));
      proxied.push(await runLoad({ host: '127.0.0.1', port: scenario.frontPort, requests: THROUGHPUT_REQUESTS, concurrency: CONCURRENCY }));
    }
    const rate = (runs: LoadResult[]) => runs.reduce((n, r) => n + r.requests, 0) / runs.reduce((s, r) => s + r.seconds, 0);
    say(`throughput (${THROUGHPUT_ROUNDS} alternating rounds of ${THROUGHPUT_REQUESTS} requests, ${CONCURRENCY} in flight, a new connection each): direct ${rate(direct).toFixed(0)}/s, through hairpin HAProxy ${rate(proxied).toFixed(0)}/s`);

    const reloads = await scenario.dataplane.reloads();
    let loadDone = false;
    const load = runLoad({ host: '127.0.0.1', port: scenario.frontPort, requests: REQUESTS, concurrency: CONCURRENCY }).finally(() => (loadDone = true));
    const latencies: number[] = [];
    while (!loadDone || latencies.length < MIN_CHANGES) latencies.push(await scenario.setEndpoints(ENDPOINT_SETS[latencies.length % ENDPOINT_SETS.length] ?? []));
    const result = await load;
    const sorted = [...latencies].sort((a, b) => a - b);
    const quantile = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
    say(`live updates: ${latencies.length} endpoint changes while ${result.requests} requests ran (${result.perSecond.toFixed(0)}/s); failures: ${result.failures.join('; ') || 'none'}`);
    return {
      requests: result.requests,
      failed: result.failed,
      endpoint_changes: latencies.length,
      reloads_for_server_changes: (await scenario.dataplane.reloads()) - reloads,
      update_p50_ms: Math.round(quantile(0.5)),
      update_p99_ms: Math.round(quantile(0.99)),
      update_max_ms: Math.round(sorted.at(-1) ?? 0),
      proxy_throughput_ratio: Number((mean(wrkProxied) / mean(wrkDirect)).toFixed(3)),
      direct_requests_per_second: Math.round(mean(wrkDirect)),
      proxied_requests_per_second: Math.round(mean(wrkProxied)),
      proxy_throughput_ratio_new_connections: Number((rate(proxied) / rate(direct)).toFixed(3)),
      proxy_throughput_ratio_vs_seed: Number((mean(wrkProxied) / mean(wrkSeed)).toFixed(3)),
      seed_requests_per_second: Math.round(mean(wrkSeed)),
    };
  } finally {
    await cleanupAll();
  }
}
