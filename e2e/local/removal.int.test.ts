/**
 * Removal that leaves DNS clean (src/kube/removal.ts), against a real apiserver, in the mode that
 * keeps something in the controller's own namespace (external-dns: DNSEndpoints), as after a
 * `helm uninstall`, which leaves that namespace:
 *  - running, the controller keeps a cleanup identity that no manifest names;
 *  - a stop that is not a removal (a rollout, a drain) removes nothing;
 *  - a stop after its Deployment and its own grants were deleted in one breath removes its
 *    DNSEndpoints with the cleanup identity, then that identity's RoleBindings.
 * No garbage collector runs here, so the Roles and ServiceAccount the RoleBindings own stay; the
 * real-node story (e2e/node) sees them go, and the Corefile restored byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cleanupAll,
  CONTROLLER_NAMESPACE,
  ingress,
  installDnsEndpointCrd,
  makeTmpDir,
  readCorefile,
  seedCluster,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  type ControllerProcess,
  type ControlPlane,
} from '../harness/index.js';

const HOST = 'shop.example.com';
const CLEANUP = 'hairpin-proxy-cleanup';
const ARGS = ['--coredns-mode', 'external-dns'];

let plane: ControlPlane;
let tmpDir: string;
let controller: ControllerProcess;
let corefileBefore: string;

const dnsEndpoints = async () =>
  (await plane.getJson<{ items: unknown[] }>(['dnsendpoints.externaldns.k8s.io', '-n', CONTROLLER_NAMESPACE, '-l', 'app.kubernetes.io/managed-by=hairpin-proxy'])).items.length;
const cleanupBindings = async () =>
  (await plane.kubectl(['get', 'rolebindings', '--all-namespaces', '--field-selector', `metadata.name=${CLEANUP}`, '-o', 'jsonpath={range .items[*]}{.metadata.namespace}{"\\n"}{end}'])).stdout
    .split('\n')
    .filter(Boolean)
    .sort();

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('removal');
    plane = await startControlPlane({ tmpDir });
    await seedCluster(plane);
    await installDnsEndpointCrd(plane);
    // The install's Deployment, as deploy/ or the chart creates it (no kubelet runs it here).
    const labels = { 'app.kubernetes.io/name': 'hairpin-proxy', 'app.kubernetes.io/component': 'controller' };
    await plane.apply([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'hairpin-proxy', namespace: CONTROLLER_NAMESPACE },
        spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'controller', image: 'example.invalid/hairpin-proxy' }] } } },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      ingress({ name: 'shop', namespace: 'shop', hosts: [HOST] }),
    ]);
    corefileBefore = await readCorefile(plane);
    controller = await startController({ controlPlane: plane, tmpDir, args: ARGS });
    await waitFor(async () => ((await dnsEndpoints()) === 1 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: 'the DNSEndpoint of the host' });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

describe('removal', () => {
  it(
    'running, the controller keeps a cleanup identity in the CoreDNS namespace and, for its DNSEndpoints, in its own',
    withLogs(async () => {
      await waitFor(async () => ((await cleanupBindings()).length === 2 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: 'the cleanup RoleBindings' });
      expect(await cleanupBindings()).toEqual([CONTROLLER_NAMESPACE, 'kube-system']);
      const account = await plane.getJson<{ metadata: { ownerReferences?: Array<{ kind: string; name: string }> } }>(['serviceaccount', '-n', 'kube-system', CLEANUP]);
      expect(account.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'RoleBinding', name: CLEANUP })]);
    }),
  );

  it(
    'a stop that is not a removal (a rollout, a drain) removes nothing',
    withLogs(async () => {
      await controller.stop();
      expect(await dnsEndpoints()).toBe(1);
      expect(await cleanupBindings()).toEqual([CONTROLLER_NAMESPACE, 'kube-system']);
      controller = await startController({ controlPlane: plane, tmpDir, args: ARGS, name: 'controller-again' });
    }),
  );

  it(
    'a stop after its Deployment and its own grants went in one breath removes its DNSEndpoints with the cleanup identity, then that identity',
    withLogs(async () => {
      // As `helm uninstall` (or `kubectl delete -f`) does: the Deployment and every grant of the
      // controller's own identity, before its pods get SIGTERM.
      await plane.kubectl(['-n', CONTROLLER_NAMESPACE, 'delete', 'deployment', 'hairpin-proxy', '--wait=false']);
      const bindings = await plane.getJson<{ items: Array<{ metadata: { name: string; namespace?: string }; subjects?: Array<{ name: string; namespace?: string }> }> }>(['rolebindings,clusterrolebindings', '--all-namespaces']);
      for (const binding of bindings.items) {
        if (!binding.subjects?.some((s) => s.name === 'hairpin-proxy' && s.namespace === CONTROLLER_NAMESPACE)) continue;
        const kind = binding.metadata.namespace ? 'rolebinding' : 'clusterrolebinding';
        await plane.kubectl(['delete', kind, binding.metadata.name, ...(binding.metadata.namespace ? ['-n', binding.metadata.namespace] : [])]);
      }
      const stopped = await controller.process.stop(60_000);
      expect(stopped?.code ?? 0).toBe(0);
      expect(await dnsEndpoints()).toBe(0);
      expect(await cleanupBindings()).toEqual([]);
      expect(await readCorefile(plane)).toBe(corefileBefore);
      expect(controller.logs().some((line) => line.msg.includes('removal cleanup done'))).toBe(true);
    }),
    120_000,
  );
});
