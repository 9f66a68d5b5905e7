/**
 * The live-update scenario that the integration test and `npm run bench -- haproxy` share: a real
 * apiserver holding the ingress controller's Service and EndpointSlice, the controller configuring
 * a real HAProxy + Data Plane API, and real nginx processes (PROXY protocol required) on several
 * addresses that play the ingress controller's pods. Those live in a network namespace of the
 * test's own, behind a veth: EndpointSlices refuse loopback addresses. Needs root.
 */
import { DiscoveryV1Api, type V1EndpointSlice } from '@kubernetes/client-node';
import type { ProxyProtocol } from '../../src/haproxy/desired.js';
import { PROXY_PROTOCOL_ANNOTATION } from '../../src/plan/upstreams.js';
import { startController, type ControllerProcess } from './controller.js';
import { canUseNetns, createNetns, createVethPair } from './netns.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { dataplaneTools, startDataplane, type LocalDataplane } from './dataplane.js';
import { startProxyProtocolNginx } from './nginx.js';
import { freePorts } from './ports.js';
import { waitFor } from './processes.js';
import { seedCluster } from './seed.js';

export const INGRESS_NAMESPACE = 'ingress-nginx';
export const INGRESS_SERVICE = 'ingress-nginx-controller';
/** The "pods" of the ingress controller: an nginx of its own on each, in the pods' namespace. */
export const POD_ADDRESSES = ['10.245.0.2', '10.245.0.3', '10.245.0.4', '10.245.0.5'] as const;
/** Endpoint sets to cycle through: growth, shrinkage, full replacement, back to all. */
export const ENDPOINT_SETS: ReadonlyArray<readonly string[]> = [[0, 1, 2], [2], [3], [0, 3], [1, 2, 3], [0, 1, 2, 3], [1]].map((set) =>
  set.map((i) => POD_ADDRESSES[i] ?? ''),
);

/** Why the scenario cannot run here (it needs the Data Plane API and root), or undefined. */
export async function liveUpdateSkipReason(): Promise<string | undefined> {
  const [tools, netns] = await Promise.all([dataplaneTools(), canUseNetns()]);
  return !tools.ok ? tools.reason : netns.ok ? undefined : netns.reason;
}

/** The root namespace's end of the veth: HAProxy's source address towards the pods. */
const NODE_ADDRESS = '10.245.0.1';

export interface LiveUpdateScenario {
  readonly plane: ControlPlane;
  readonly dataplane: LocalDataplane;
  readonly controller: ControllerProcess;
  /** Where clients connect: the hairpin HAProxy's frontend. */
  readonly frontPort: number;
  /** The nginx port on every pod address. */
  readonly podPort: number;
  /** A listener without proxy_protocol on the first pod address: the baseline for throughput. */
  readonly plainPort: number;
  /**
   * Replaces the EndpointSlice's endpoints, then waits until HAProxy serves exactly them (every
   * listed address in rotation, every other slot out). Returns the milliseconds from the
   * EndpointSlice write to HAProxy serving the new set.
   */
  setEndpoints(addresses: readonly string[]): Promise<number>;
  /** Replaces the EndpointSlice's endpoints and returns at once. */
  writeEndpoints(addresses: readonly string[]): Promise<void>;
  /** Waits until HAProxy serves exactly these addresses (bounded). */
  awaitServing(addresses: readonly string[], what: string): Promise<void>;
  /** Annotates the Service and waits until HAProxy's servers send that PROXY version. */
  setProxyProtocol(version: ProxyProtocol): Promise<void>;
}

const BACKEND_PREFIX = 'hairpin_ingress_';

export async function startLiveUpdateScenario(options: { tmpDir: string }): Promise<LiveUpdateScenario> {
  const { tmpDir } = options;
  const [frontPort = 0, podPort = 0, plainPort = 0] = await freePorts(3);
  const plane = await startControlPlane({ tmpDir });
  await seedCluster(plane);
  const pods = await createNetns('pods');
  const [podEnd] = await createVethPair({ netns: pods, address: `${POD_ADDRESSES[0]}/24` }, { address: `${NODE_ADDRESS}/24` });
  for (const address of POD_ADDRESSES.slice(1)) await pods.exec('ip', ['addr', 'add', `${address}/24`, 'dev', podEnd.name]);
  // One nginx per pod, as one ingress-nginx per pod; the first also has the plain listener.
  await Promise.all(
    POD_ADDRESSES.map((address, i) =>
      startProxyProtocolNginx({
        tmpDir,
        name: `ingress-${i + 1}`,
        netns: pods.name,
        listeners: [{ address, port: podPort }, ...(i === 0 ? [{ address, port: plainPort, proxyProtocol: false }] : [])],
      }),
    ),
  );
  const dataplane = await startDataplane({ tmpDir });
  await plane.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: INGRESS_SERVICE, namespace: INGRESS_NAMESPACE },
      spec: { type: 'ClusterIP', ports: [{ name: 'http', port: frontPort, targetPort: 'http', protocol: 'TCP' }], selector: { app: 'ingress-nginx' } },
    },
    endpointSlice(POD_ADDRESSES.slice(0, 2), podPort),
  ]);
  const controller = await startController({
    controlPlane: plane,
    tmpDir,
    dataplaneUrls: [dataplane.url],
    args: ['--ingress-controller', `${INGRESS_NAMESPACE}/${INGRESS_SERVICE}`, '--haproxy-ports', String(frontPort), '--log-level', 'info'],
  });
  const api = dataplane.client();
  const discovery = plane.kubeConfig('admin').makeApiClient(DiscoveryV1Api);
  const backend = `${BACKEND_PREFIX}${frontPort}`;

  const serving = async (): Promise<string[]> =>
    (await api.listRuntimeServers(backend)).filter((s) => s.admin_state === 'ready').map((s) => `${s.address}:${s.port}`).sort();
  const awaitServing = async (addresses: readonly string[], what: string): Promise<void> => {
    const expected = JSON.stringify(addresses.map((a) => `${a}:${podPort}`).sort());
    await waitFor(async () => JSON.stringify(await serving()) === expected, { timeoutMs: 15_000, intervalMs: 5, what });
  };
  const writeEndpoints = async (addresses: readonly string[]): Promise<void> => {
    await discovery.replaceNamespacedEndpointSlice({ name: INGRESS_SERVICE, namespace: INGRESS_NAMESPACE, body: endpointSlice(addresses, podPort) as V1EndpointSlice });
  };
  await awaitServing(POD_ADDRESSES.slice(0, 2), 'the controller to configure HAProxy');

  return {
    plane,
    dataplane,
    controller,
    frontPort,
    podPort,
    plainPort,
    async setEndpoints(addresses) {
      const started = performance.now();
      await writeEndpoints(addresses);
      await awaitServing(addresses, `HAProxy to serve ${addresses.join(', ') || 'nothing'}`);
      return performance.now() - started;
    },
    writeEndpoints,
    awaitServing,
    async setProxyProtocol(version) {
      const field = version === 'v2' ? 'send-proxy-v2' : 'send-proxy';
      const sendsVersion = async () => (await api.listServers(backend)).every((s) => s[field] === 'enabled');
      if (await sendsVersion()) return;
      // The controller counts a reload once HAProxy has finished it: wait for that, not the file.
      const reloadsDone = () => controller.metric('hairpin_proxy_haproxy_updates_total', { kind: 'reload' });
      const before = await reloadsDone();
      await plane.kubectl(['annotate', '--overwrite', '-n', INGRESS_NAMESPACE, 'service', INGRESS_SERVICE, `${PROXY_PROTOCOL_ANNOTATION}=${version}`]);
      await waitFor(async () => (await reloadsDone()) > before && (await sendsVersion()), { timeoutMs: 15_000, what: `HAProxy to reload with PROXY ${version}` });
    },
  };
}

function endpointSlice(addresses: readonly string[], port: number): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: INGRESS_SERVICE, namespace: INGRESS_NAMESPACE, labels: { 'kubernetes.io/service-name': INGRESS_SERVICE } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: addresses.map((address) => ({ addresses: [address], conditions: { ready: true } })),
  };
}
