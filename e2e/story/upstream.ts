/**
 * Which upstream the story's host belongs to, and everything that follows from it: the cluster
 * objects that ask for the host, the PROXY version the load balancer and the hairpin send, the
 * controller's flags, and where the hairpin Service sends traffic.
 *
 *   ingress  an Ingress of class nginx, served by ingress-nginx (PROXY v1): the controller runs
 *            as before, with its defaults; hosts resolve to the seeded hairpin Service.
 *   gateway  an HTTPRoute accepted by the Gateway infra/public (class eg), served by a Gateway API
 *            implementation with one LoadBalancer Service per Gateway, as Envoy Gateway has, that
 *            expects PROXY v2: the controller runs with --target; hosts resolve to the hairpin
 *            Service the controller creates for that upstream, on its own HAProxy frontends.
 *
 * Both upstreams are played by the same proxy_protocol nginx (it reads v1 and v2 alike).
 */
import { CONTROLLER_NAMESPACE, HAIRPIN_CLUSTER_IP, HAIRPIN_SERVICE, type ControlPlane } from '../harness/index.js';
import { resolveUpstreams, type NamespacedName } from '../../src/plan/upstreams.js';
import { ADDRESSES, type PortForward } from './topology.js';
import { GATEWAY, GATEWAY_CLASS, INGRESS_CLASS, INGRESS_NAMESPACE, INGRESS_SERVICE, INGRESS_SERVICE_PORTS } from './cluster-objects.js';

export type StorySource = 'ingress' | 'gateway';

/** Envoy Gateway names a Gateway's Service after its namespace and name. */
export const GATEWAY_SERVICE = { namespace: 'envoy-gateway-system', name: 'envoy-infra-public' } as const;

export interface StoryUpstream {
  readonly source: StorySource;
  /** The upstream's LoadBalancer Service. */
  readonly service: NamespacedName;
  readonly proxyProtocol: 'v1' | 'v2';
  /** What asks for the host and who serves it, in words. */
  readonly described: string;
  /** Who serves it, for "… logged": the proxy the load balancer forwards to. */
  readonly server: string;
  /** The controller flags that make it serve the upstreams it was described with. */
  readonly controllerArgs: readonly string[];
  /** Its --target value, for a controller that serves it beside others. */
  readonly target: string;
  /** The hairpin Service its hosts resolve to, and each of its ports' HAProxy frontend port. */
  readonly hairpin: { readonly service: string; readonly ports: ReadonlyArray<{ readonly port: number; readonly listenPort: number }> };
}

const SERVICE_PORTS = INGRESS_SERVICE_PORTS.map((p) => p.port);

type Described = Omit<StoryUpstream, 'hairpin' | 'controllerArgs'>;

const DESCRIBED: Readonly<Record<StorySource, Described>> = {
  ingress: {
    source: 'ingress',
    service: { namespace: INGRESS_NAMESPACE, name: INGRESS_SERVICE },
    proxyProtocol: 'v1',
    described: `an Ingress of class ${INGRESS_CLASS}, served by ingress-nginx (PROXY v1)`,
    server: 'ingress-nginx',
    target: `${INGRESS_CLASS}=${INGRESS_NAMESPACE}/${INGRESS_SERVICE}:v1`,
  },
  gateway: {
    source: 'gateway',
    service: GATEWAY_SERVICE,
    proxyProtocol: 'v2',
    described: `an HTTPRoute on the Gateway ${GATEWAY.namespace}/${GATEWAY.name} (class ${GATEWAY_CLASS}), served by a Gateway API implementation that expects PROXY v2`,
    server: "the Gateway's proxy",
    target: `${GATEWAY_CLASS}=${GATEWAY_SERVICE.namespace}/${GATEWAY_SERVICE.name}:v2`,
  },
};

/**
 * The upstreams of a controller that serves these sources. The ingress source alone runs as
 * before (no --target, the seeded hairpin Service); anything else runs with a --target each, and
 * each upstream's hairpin Service and frontend ports come from the controller's own arithmetic.
 */
export function storyUpstreams(sources: readonly StorySource[]): StoryUpstream[] {
  if (sources.length === 1 && sources[0] === 'ingress') {
    return [{ ...DESCRIBED.ingress, controllerArgs: ['--ingress-class', INGRESS_CLASS], hairpin: { service: HAIRPIN_SERVICE, ports: SERVICE_PORTS.map((port) => ({ port, listenPort: port })) } }];
  }
  const rules = sources.map((source) => {
    const { service, proxyProtocol } = DESCRIBED[source];
    return { keys: [{ kind: 'class' as const, name: source === 'ingress' ? INGRESS_CLASS : GATEWAY_CLASS }], upstream: service, proxyProtocol };
  });
  const resolved = resolveUpstreams({ kind: 'targets', rules }, [], { namespace: CONTROLLER_NAMESPACE, service: HAIRPIN_SERVICE, clusterDomain: 'cluster.local', ports: SERVICE_PORTS });
  return sources.map((source) => {
    const described = DESCRIBED[source];
    const mine = resolved.find((u) => u.service.namespace === described.service.namespace && u.service.name === described.service.name);
    if (!mine) throw new Error(`resolveUpstreams gave no upstream for ${described.target}`);
    return { ...described, controllerArgs: sources.flatMap((s) => ['--target', DESCRIBED[s].target]), hairpin: { service: mine.hairpinService, ports: mine.ports } };
  });
}

export function storyUpstream(source: StorySource): StoryUpstream {
  const [upstream] = storyUpstreams([source]);
  if (!upstream) throw new Error(`no upstream for ${source}`);
  return upstream;
}

/**
 * The hairpin Service's ClusterIP. The seeded one has a fixed address; one the controller creates
 * gets its address from the apiserver, so this waits (bounded by the caller) until it exists.
 */
export async function hairpinClusterIp(plane: ControlPlane, upstream: StoryUpstream): Promise<string | undefined> {
  if (upstream.hairpin.service === HAIRPIN_SERVICE) return HAIRPIN_CLUSTER_IP;
  const found = await plane.kubectl(['get', 'service', '-n', CONTROLLER_NAMESPACE, upstream.hairpin.service, '-o', 'jsonpath={.spec.clusterIP}'], { allowFail: true });
  return found.code === 0 && found.stdout.trim() !== '' ? found.stdout.trim() : undefined;
}

/** kube-proxy's rules for the upstream's LoadBalancer IP (ipMode VIP): straight to its pod, no PROXY header. */
export function loadBalancerForwards(upstream: StoryUpstream, loadBalancer: string, pod: string): PortForward[] {
  return upstream.hairpin.ports.map(({ port }) => ({
    why: `LoadBalancer ${upstream.service.namespace}/${upstream.service.name} (ipMode VIP)`,
    from: { address: loadBalancer, port },
    to: { address: pod, port },
  }));
}

/** kube-proxy's rules for a hairpin Service: each port to its HAProxy frontend in the hairpin pod. */
export function hairpinForwards(upstream: StoryUpstream, clusterIp: string): PortForward[] {
  return upstream.hairpin.ports.map(({ port, listenPort }) => ({
    why: `ClusterIP ${CONTROLLER_NAMESPACE}/${upstream.hairpin.service}`,
    from: { address: clusterIp, port },
    to: { address: ADDRESSES.hairpinPod, port: listenPort },
  }));
}
