/**
 * node-local-dns in front of CoreDNS: pods on such nodes ask node-local-dns, which sends only the
 * cluster domain to CoreDNS and every other name (each ingress host) straight upstream, past the
 * rewrite. Against a real apiserver, the real controller, the real CoreDNS and a real CoreDNS
 * playing node-local-dns (node-cache's pillars substituted as it does): without hairpin-proxy's
 * block the host goes upstream; with it, node-local-dns forwards it to CoreDNS, which answers with
 * the hairpin Service; uninstall restores node-local-dns's Corefile byte for byte; a ConfigMap
 * the addon manager reconciles is reported, not fought.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cleanupAll,
  COREDNS_NAMESPACE,
  HAIRPIN_CLUSTER_IP,
  ingress,
  makeTmpDir,
  NODE_LOCAL_DNS_CONFIGMAP,
  nodeLocalDnsCorefile,
  runCli,
  seedCluster,
  startControlPlane,
  startController,
  startCoreDns,
  startNodeLocalDns,
  waitFor,
  withLogs,
  type ControlPlane,
  type ControllerProcess,
  type CoreDns,
} from '../harness/index.js';

const CONVERGE_MS = 30_000;

let plane: ControlPlane;
let nodeLocal: CoreDns;
let controller: ControllerProcess;
let tmpDir: string;
const installed = nodeLocalDnsCorefile();

const nodeLocalCorefile = async () =>
  (await plane.getJson<{ data?: Record<string, string> }>(['configmap', '-n', COREDNS_NAMESPACE, NODE_LOCAL_DNS_CONFIGMAP])).data?.Corefile ?? '';

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('node-local-dns');
    plane = await startControlPlane({ tmpDir });
    await seedCluster(plane);
    await plane.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: NODE_LOCAL_DNS_CONFIGMAP, namespace: COREDNS_NAMESPACE }, data: { Corefile: installed } });
    const clusterDns = await startCoreDns({ controlPlane: plane, tmpDir });
    nodeLocal = await startNodeLocalDns({ controlPlane: plane, tmpDir, clusterDns });
    await plane.apply(ingress({ name: 'shop', hosts: ['shop.example.com', '*.apps.example.com'] }));
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

describe('node-local-dns', () => {
  it(
    'without hairpin-proxy sends an ingress host upstream, past CoreDNS and its rewrite',
    withLogs(async () => {
      expect(await nodeLocal.addressesOf('shop.example.com')).toEqual([]);
    }),
  );

  it(
    'with it forwards the hosts to CoreDNS, which answers with the hairpin Service',
    withLogs(async () => {
      controller = await startController({ controlPlane: plane, tmpDir });
      for (const name of ['shop.example.com', 'x.apps.example.com']) {
        await waitFor(async () => ((await nodeLocal.addressesOf(name)).includes(HAIRPIN_CLUSTER_IP) ? true : undefined), {
          timeoutMs: CONVERGE_MS,
          intervalMs: 250,
          what: `node-local-dns to answer ${name} with ${HAIRPIN_CLUSTER_IP}`,
        });
      }
      const corefile = await nodeLocalCorefile();
      expect(corefile.endsWith(installed)).toBe(true);
      expect(corefile).toMatch(/^# BEGIN hairpin-proxy.*\napps\.example\.com:53 shop\.example\.com:53 \{\n/);
      expect(corefile).toContain('    forward . __PILLAR__CLUSTER__DNS__ {');
    }),
  );

  it(
    'uninstall restores node-local-dns\'s Corefile byte for byte',
    withLogs(async () => {
      await controller.stop();
      const run = await runCli(['uninstall', '--kubeconfig', plane.controllerKubeconfigPath], 60_000);
      expect(run.code).toBe(0);
      expect(await nodeLocalCorefile()).toBe(installed);
    }),
  );

  it(
    'leaves a ConfigMap the addon manager reconciles alone, and says so with a Warning',
    withLogs(async () => {
      await plane.kubectl(['label', 'configmap', '-n', COREDNS_NAMESPACE, NODE_LOCAL_DNS_CONFIGMAP, 'addonmanager.kubernetes.io/mode=Reconcile']);
      controller = await startController({ controlPlane: plane, tmpDir, name: 'controller-reconciled' });
      await controller.waitForLog((line) => line.level === 'warn' && /addonmanager\.kubernetes\.io\/mode=Reconcile/.test(line.msg), 'the warning about the addon manager');
      const events = await waitFor(
        async () => {
          const found = await plane.getJson<{ items: Array<{ reason: string; type: string }> }>(['events', '-n', COREDNS_NAMESPACE, '--field-selector=reason=NodeLocalDnsReconciled']);
          return found.items.length > 0 ? found.items : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 500, what: 'a NodeLocalDnsReconciled Event' },
      );
      expect(events[0]?.type).toBe('Warning');
      expect(await nodeLocalCorefile()).toBe(installed);
    }),
  );
});
