/**
 * `npm run bench -- scale [--json]`: 10,000 Ingresses of two hosts each (20,000 hosts over 200
 * parent domains) exist before the controller starts. Times the initial sync (process start to
 * the ConfigMap revision routing every host), then 20 updates of one Ingress each, spaced past
 * --write-interval (reaction: replace call returning to the revision routing the new host), while
 * sampling the controller's resident memory; peak RSS covers both. The controller runs as
 * deploy/ runs it: in a 256 MiB memory cgroup, with the image's heap flag. The Corefile sizes compare our
 * rules with the original project's one line per host, for this host set and for 20,000 hosts of
 * which no two share a parent, rendered by the controller's own renderer.
 */
import { HAIRPIN_FQDN, kubeadmCorefile } from '../e2e/harness/index.js';
import { renderCorefile } from '../src/coredns/corefile.js';
import { percentile, residentMib, round, sleep, startBenchCluster, type BenchCluster } from './cluster.js';
import { routedHosts, seedFormatRule } from './dns-hosts.js';
import { saveSamples } from './samples.js';

const INGRESSES = 10_000;
const PARENTS = 200;
const UPDATES = 20;
const QUIET_MS = 1_100;
const SAMPLE_EVERY_MS = 250;
/** deploy/base/controller.yaml's memory limit: the bench runs the controller as a Pod would. */
const DEPLOY_MEMORY_LIMIT_MIB = 256;

const hostsOf = (i: number) => [`svc-${i}.team-${i % PARENTS}.example.com`, `api-${i}.team-${i % PARENTS}.example.com`];

export async function benchScale(say: (line: string) => void): Promise<object> {
  let cluster: BenchCluster | undefined;
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    cluster = await startBenchCluster('bench-scale');
    const createMs = await cluster.createIngresses(INGRESSES, hostsOf);
    say(`created ${INGRESSES} Ingresses (${INGRESSES * 2} hosts) in ${round(createMs / 1000)} s`);
    const allHosts = Array.from({ length: INGRESSES }, (_, i) => hostsOf(i)).flat();

    const from = cluster.revisions.length;
    const started = performance.now();
    const controller = await cluster.startController([], { waitReady: false, memoryLimitMib: DEPLOY_MEMORY_LIMIT_MIB });
    const pid = controller.process.pid ?? NaN;
    const rss: Array<{ s: number; mib: number }> = [];
    sampler = setInterval(() => {
      try {
        rss.push({ s: round((performance.now() - started) / 1000, 2), mib: round(residentMib(pid).rss) });
      } catch {
        // the process is gone; the bench fails on its own below
      }
    }, SAMPLE_EVERY_MS);
    const initial = await cluster.waitForRouted(allHosts, { from, timeoutMs: 120_000 });
    const initialSyncMs = initial.at - started;
    say(`initial sync: every host routed ${round(initialSyncMs)} ms after the controller started; RSS ${round(residentMib(pid).rss)} MiB`);

    const reactions: number[] = [];
    for (let k = 0; k < UPDATES; k++) {
      await sleep(QUIET_MS);
      const host = `moved-${k}.team-${k % PARENTS}.example.com`;
      const revisionsBefore = cluster.revisions.length;
      await cluster.setIngressHosts(`bench-${k}`, [host, ...hostsOf(k).slice(1)]);
      const replaced = performance.now();
      const revision = await cluster.waitForRouted([host], { from: revisionsBefore, timeoutMs: 30_000 });
      reactions.push(revision.at - replaced);
    }
    const memory = residentMib(pid);
    clearInterval(sampler);
    const corefile = cluster.revisions.at(-1)?.corefile ?? '';
    const seed = kubeadmCorefile({ health: 8080, ready: 8181, metrics: 9153 });
    const distinct = renderCorefile(seed, routedHosts('distinct-parents', 2 * INGRESSES).map((host) => ({ host, target: HAIRPIN_FQDN })));
    const seedFormat = seedFormatCorefile(seed, allHosts);
    saveSamples('scale', { rss_mib: rss, reactions_ms: reactions.map((ms) => round(ms, 2)), initial_sync_ms: round(initialSyncMs) });
    say(`reaction to one update: p50 ${round(percentile(reactions, 50))} ms, p99 ${round(percentile(reactions, 99))} ms`);
    return {
      ingresses: INGRESSES,
      hosts: allHosts.length,
      initial_sync_ms: round(initialSyncMs),
      rss_mib: round(memory.peak),
      rss_at_end_mib: round(memory.rss),
      corefile_bytes: Buffer.byteLength(corefile),
      reaction_p50_ms: round(percentile(reactions, 50)),
      reaction_p99_ms: round(percentile(reactions, 99)),
      corefile_bytes_distinct_parents: Buffer.byteLength(distinct),
      seed_corefile_bytes: Buffer.byteLength(seedFormat),
    };
  } finally {
    clearInterval(sampler);
    await cluster?.close();
  }
}

/** The original project's Corefile: one rewrite line per host right after `.:53 {` (reference/coredns.md). */
function seedFormatCorefile(corefile: string, hosts: readonly string[]): string {
  const lines = hosts.map((host) => `    ${seedFormatRule(host)}\n`);
  return corefile.replace(/^\.:53 \{\n/m, (open) => open + lines.join(''));
}
