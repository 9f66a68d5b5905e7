import type { IngressTarget } from '../model/objects.js';

export type ProxyProtocol = 'v1' | 'v2';

export interface HaproxyPolicy {
  /** With no ready endpoint, send traffic to the Service's ClusterIP rather than nowhere. */
  readonly clusterIpFallback: boolean;
  readonly timeouts: { readonly connectMs: number; readonly clientMs: number; readonly serverMs: number; readonly tunnelMs: number };
  readonly maxconn: number;
  readonly checkIntervalMs: number;
}

export const DEFAULT_HAPROXY_POLICY: HaproxyPolicy = {
  clusterIpFallback: false,
  timeouts: { connectMs: 5_000, clientMs: 60_000, serverMs: 60_000, tunnelMs: 3_600_000 },
  maxconn: 10_000,
  checkIntervalMs: 2_000,
};

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface DesiredFrontend {
  readonly name: string;
  readonly port: number;
  readonly backend: string;
}

export interface DesiredBackend {
  readonly name: string;
  readonly proxyProtocol: ProxyProtocol;
  /** Unique, sorted: the order the planner fills server slots in. */
  readonly endpoints: readonly Endpoint[];
}

export interface DesiredHaproxy {
  readonly frontends: readonly DesiredFrontend[];
  readonly backends: readonly DesiredBackend[];
  readonly policy: HaproxyPolicy;
  /** Why a port has no servers, for logs; not an error: the structure is still right. */
  readonly warnings: readonly string[];
}

/** One upstream as HAProxy serves it: a frontend per port, each to the upstream's Service port of that number. */
export interface UpstreamForwarding {
  /** Its backends are named `hairpin_<name>_<port>`. */
  readonly name: string;
  readonly proxyProtocol: ProxyProtocol;
  readonly ports: ReadonlyArray<{ readonly port: number; readonly listenPort: number }>;
  readonly target: IngressTarget;
}

/** Every HAProxy object this controller owns is named with this prefix; it touches no other. */
export const OWNED_PREFIX = 'hairpin_';

/**
 * Pure: the hairpin HAProxy's frontends and backends for every upstream. For each upstream, the
 * frontend on its listen port forwards, with that upstream's PROXY header, to the ready endpoints
 * behind its Service port of the same number. Sorted by frontend port: the same input always
 * gives the same configuration.
 */
export function desiredHaproxy(upstreams: readonly UpstreamForwarding[], policy: HaproxyPolicy): DesiredHaproxy {
  const warnings: string[] = [];
  const pairs: Array<{ frontend: DesiredFrontend; backend: DesiredBackend }> = [];
  for (const upstream of upstreams) {
    const warn = (warning: string) => warnings.push(upstreams.length > 1 ? `${upstream.name}: ${warning}` : warning);
    for (const { port, listenPort } of upstream.ports) {
      const backend = `${OWNED_PREFIX}${upstream.name}_${port}`;
      pairs.push({
        frontend: { name: `${OWNED_PREFIX}frontend_${listenPort}`, port: listenPort, backend },
        backend: { name: backend, proxyProtocol: upstream.proxyProtocol, endpoints: endpointsFor(upstream.target, port, policy, warn) },
      });
    }
  }
  pairs.sort((a, b) => a.frontend.port - b.frontend.port);
  return { frontends: pairs.map((p) => p.frontend), backends: pairs.map((p) => p.backend), policy, warnings };
}

function endpointsFor(target: IngressTarget, port: number, policy: HaproxyPolicy, warn: (warning: string) => void): Endpoint[] {
  const servicePort = target.service?.spec?.ports?.find((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
  if (!target.service) {
    warn(`port ${port}: the upstream Service does not exist`);
    return [];
  }
  if (!servicePort) {
    warn(`port ${port}: the upstream Service has no TCP port ${port}`);
    return [];
  }
  const name = servicePort.name ?? '';
  const found = new Map<string, Endpoint>();
  for (const slice of target.slices) {
    const slicePort = slice.ports?.find((p) => (p.name ?? '') === name && (p.protocol ?? 'TCP') === 'TCP')?.port;
    if (slicePort === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      // Kubernetes: an unset ready condition means ready.
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? []) found.set(`${address}|${slicePort}`, { address, port: slicePort });
    }
  }
  const clusterIp = target.service.spec?.clusterIP;
  if (found.size === 0 && policy.clusterIpFallback && clusterIp && clusterIp !== 'None') {
    warn(`port ${port}: no ready endpoint; falling back to ClusterIP ${clusterIp}`);
    return [{ address: clusterIp, port }];
  }
  if (found.size === 0) warn(`port ${port}: no ready endpoint`);
  return [...found.values()].sort(compareEndpoints);
}

export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}
