/**
 * `npm run bench -- node-dns [--json]`: on the real node (e2e/node), how long a user waits after
 * creating an Ingress until CoreDNS answers its host with the hairpin address, with a real kubelet
 * (default ConfigMap volume refresh) and CoreDNS's default `reload`. Each sample creates one
 * Ingress and times (a) the Corefile written to the ConfigMap by the controller and (b) the client
 * Pod's resolver answering with the hairpin Service's ClusterIP.
 *
 * The second series tries one way to shorten the wait: right after the ConfigMap write, annotate
 * the CoreDNS Pods. The kubelet syncs a Pod when it is updated, and that sync refreshes its
 * ConfigMap volumes, so CoreDNS should see the new Corefile without waiting for the kubelet's
 * periodic sync; its own reload interval still applies.
 */
import { join } from 'node:path';
import { blockMentions, cleanupAll, makeTmpDir, markerBlock, waitFor } from '../e2e/harness/index.js';
import { installHairpin, setUpNodeScenario, type NodeScenario } from '../e2e/node/scenario.js';
import { appIngress } from '../e2e/node/workloads.js';

const SAMPLES = 5;
const WAIT_MS = 5 * 60_000;

export interface NodeDnsBenchResult {
  samples: number;
  write_p50_ms: number;
  dns_p50_ms: number;
  dns_max_ms: number;
  nudged_dns_p50_ms: number;
  nudged_dns_max_ms: number;
  nudged_to_default_ratio: number;
}

export async function benchNodeDns(say: (line: string) => void): Promise<NodeDnsBenchResult> {
  try {
    const tmpDir = makeTmpDir('bench-node-dns');
    const scenario = await setUpNodeScenario(tmpDir);
    const { hairpinIp } = await installHairpin(scenario, join(tmpDir, 'overlay'));
    say(`node up, hairpin-proxy installed (hairpin Service ${hairpinIp}, Data Plane API: ${scenario.dataplaneapi ? 'yes' : 'no, static HAProxy'})`);
    const plain = await series(scenario, hairpinIp, 'plain', false, say);
    const nudged = await series(scenario, hairpinIp, 'nudged', true, say);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    return {
      samples: SAMPLES,
      write_p50_ms: median(plain.map((s) => s.writeMs)),
      dns_p50_ms: median(plain.map((s) => s.dnsMs)),
      dns_max_ms: Math.max(...plain.map((s) => s.dnsMs)),
      nudged_dns_p50_ms: median(nudged.map((s) => s.dnsMs)),
      nudged_dns_max_ms: Math.max(...nudged.map((s) => s.dnsMs)),
      nudged_to_default_ratio: Number((median(nudged.map((s) => s.dnsMs)) / median(plain.map((s) => s.dnsMs))).toFixed(2)),
    };
  } finally {
    await cleanupAll();
  }
}

interface Sample {
  readonly writeMs: number;
  readonly dnsMs: number;
}

async function series(scenario: NodeScenario, hairpinIp: string, label: string, nudge: boolean, say: (line: string) => void): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const host = `${label}-${i}.bench.example.test`;
    const created = Date.now();
    await scenario.plane.apply(appIngress(`${label}-${i}`, host));
    await waitFor(async () => blockMentions(markerBlock(await scenario.readCorefile()), host), { timeoutMs: 30_000, intervalMs: 50, what: `the Corefile to route ${host}` });
    const writeMs = Date.now() - created;
    if (nudge) await scenario.plane.kubectl(['-n', 'kube-system', 'annotate', '--overwrite', 'pods', '-l', 'k8s-app=kube-dns', `bench.hairpin-proxy.io/nudge=${created}`]);
    await waitFor(async () => (await scenario.resolve(host)).includes(hairpinIp), { timeoutMs: WAIT_MS, intervalMs: 250, what: `CoreDNS to answer ${host}` });
    const dnsMs = Date.now() - created;
    samples.push({ writeMs, dnsMs });
    say(`${label} ${i + 1}/${SAMPLES}: ConfigMap written after ${writeMs} ms, CoreDNS answering after ${(dnsMs / 1000).toFixed(1)} s`);
  }
  return samples;
}
