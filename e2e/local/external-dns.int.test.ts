/**
 * `--coredns-mode external-dns`, for managed clusters that forbid CoreDNS edits, through the real
 * chain: the real controller (under its own identity and deploy/base's RBAC) writes a DNSEndpoint
 * per routed host; the real external-dns (--source=crd, the CoreDNS provider) publishes it into
 * etcd; a real CoreDNS with the etcd plugin (the private zone the cluster would resolve from)
 * answers the host with the hairpin Service's ClusterIP. The cluster's Corefile is never touched;
 * stale DNSEndpoints go; uninstall removes them all.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cleanupAll,
  externalDnsTools,
  HAIRPIN_CLUSTER_IP,
  ingress,
  installDnsEndpointCrd,
  makeTmpDir,
  readCorefile,
  runCli,
  seedCluster,
  startControlPlane,
  startController,
  startExternalDnsChain,
  waitFor,
  withLogs,
  type ControlPlane,
  type ControllerProcess,
  type ExternalDnsChain,
} from '../harness/index.js';

const tools = await externalDnsTools();
if (!tools.ok) console.warn(`external-dns mode tests skipped: ${tools.reason}`);

const ZONE = 'example.test';
const CONVERGE_MS = 30_000;

let plane: ControlPlane;
let chain: ExternalDnsChain;
let controller: ControllerProcess;
let corefileBefore: string;

const ours = async () =>
  (await plane.getJson<{ items: Array<{ metadata: { name: string } }> }>(['dnsendpoints.externaldns.k8s.io', '-n', 'hairpin-proxy', '-l', 'app.kubernetes.io/managed-by=hairpin-proxy'])).items;

async function answers(name: string, address: string | undefined): Promise<void> {
  await waitFor(async () => {
    const found = await chain.addressesOf(name);
    return (address === undefined ? found.length === 0 : found.includes(address)) ? true : undefined;
  }, { timeoutMs: CONVERGE_MS, intervalMs: 250, what: `${name} to resolve to ${address ?? 'nothing'} in the private zone` });
}

(tools.ok ? describe : describe.skip)('--coredns-mode external-dns: DNSEndpoint → external-dns → etcd → CoreDNS', () => {
  beforeAll(
    withLogs(async () => {
      const tmpDir = makeTmpDir('external-dns-mode');
      plane = await startControlPlane({ tmpDir });
      corefileBefore = (await seedCluster(plane)).corefile;
      await installDnsEndpointCrd(plane);
      chain = await startExternalDnsChain({ controlPlane: plane, tmpDir, zone: ZONE });
      await plane.apply(ingress({ name: 'shop', hosts: [`shop.${ZONE}`, `api.${ZONE}`] }));
      controller = await startController({ controlPlane: plane, tmpDir, args: ['--coredns-mode', 'external-dns'] });
    }),
    180_000,
  );
  afterAll(() => cleanupAll(), 60_000);

  it(
    'publishes each routed host with the hairpin Service\'s ClusterIP, and never touches the Corefile',
    withLogs(async () => {
      await answers(`shop.${ZONE}`, HAIRPIN_CLUSTER_IP);
      await answers(`api.${ZONE}`, HAIRPIN_CLUSTER_IP);
      expect((await ours()).map((o) => o.metadata.name).sort()).toEqual([expect.stringMatching(/-api\.example\.test$/), expect.stringMatching(/-shop\.example\.test$/)]);
      expect(await readCorefile(plane)).toBe(corefileBefore);
    }),
  );

  it(
    'follows the Ingresses: a removed host\'s DNSEndpoint is deleted and the name stops resolving',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'shop', hosts: [`shop.${ZONE}`] }));
      await answers(`api.${ZONE}`, undefined);
      expect(await ours()).toHaveLength(1);
      await answers(`shop.${ZONE}`, HAIRPIN_CLUSTER_IP);
    }),
  );

  it(
    'uninstall removes every DNSEndpoint of ours',
    withLogs(async () => {
      await controller.stop();
      const run = await runCli(['uninstall', '--kubeconfig', plane.controllerKubeconfigPath], 60_000);
      expect(run.code).toBe(0);
      expect(await ours()).toEqual([]);
      await answers(`shop.${ZONE}`, undefined);
      expect(await readCorefile(plane)).toBe(corefileBefore);
    }),
  );
});
