import type { IngressTarget, ServiceLike } from '../model/objects.js';

export type ProxyProtocol = 'v1' | 'v2';

/** Set on the ingress controller's Service to choose the PROXY protocol version for it. */
export const PROXY_PROTOCOL_ANNOTATION = 'hairpin-proxy.io/proxy-protocol';

export interface HaproxyPolicy {
  /** Ports the hairpin HAProxy listens on; each forwards to the ingress Service port of that number. */
  readonly ports: readonly number[];
  readonly proxyProtocol: ProxyProtocol;
  /** With no ready endpoint, send traffic to the Service's ClusterIP rather than nowhere. */
  readonly clusterIpFallback: boolean;
  readonly timeouts: { readonly connectMs: number; readonly clientMs: number; readonly serverMs: number; readonly tunnelMs: number };
  readonly maxconn: number;
  readonly checkIntervalMs: number;
}

export const DEFAULT_HAPROXY_POLICY: HaproxyPolicy = {
  ports: [80, 443],
  proxyProtocol: 'v1',
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

/** Every HAProxy object this controller owns is named with this prefix; it touches no other. */
export const OWNED_PREFIX = 'hairpin_';

/**
 * Pure: the hairpin HAProxy's frontends and backends for one ingress controller. Frontend port P
 * forwards, with the PROXY header, to the ready endpoints behind the Service port numbered P.
 */
export function desiredHaproxy(target: IngressTarget, policy: HaproxyPolicy): DesiredHaproxy {
  const warnings: string[] = [];
  const proxyProtocol = proxyProtocolOf(target.service, policy.proxyProtocol, warnings);
  const frontends: DesiredFrontend[] = [];
  const backends: DesiredBackend[] = [];
  for (const port of [...new Set(policy.ports)].sort((a, b) => a - b)) {
    const backend = `${OWNED_PREFIX}ingress_${port}`;
    frontends.push({ name: `${OWNED_PREFIX}frontend_${port}`, port, backend });
    backends.push({ name: backend, proxyProtocol, endpoints: endpointsFor(target, port, policy, warnings) });
  }
  return { frontends, backends, policy, warnings };
}

function proxyProtocolOf(service: ServiceLike | undefined, fallback: ProxyProtocol, warnings: string[]): ProxyProtocol {
  const value = service?.metadata?.annotations?.[PROXY_PROTOCOL_ANNOTATION];
  if (value === undefined) return fallback;
  if (value === 'v1' || value === 'v2') return value;
  warnings.push(`annotation ${PROXY_PROTOCOL_ANNOTATION}=${JSON.stringify(value)} is not v1 or v2; using ${fallback}`);
  return fallback;
}

function endpointsFor(target: IngressTarget, port: number, policy: HaproxyPolicy, warnings: string[]): Endpoint[] {
  const servicePort = target.service?.spec?.ports?.find((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
  if (!target.service) {
    warnings.push(`port ${port}: the ingress controller Service does not exist`);
    return [];
  }
  if (!servicePort) {
    warnings.push(`port ${port}: the ingress controller Service has no TCP port ${port}`);
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
    warnings.push(`port ${port}: no ready endpoint; falling back to ClusterIP ${clusterIp}`);
    return [{ address: clusterIp, port }];
  }
  if (found.size === 0) warnings.push(`port ${port}: no ready endpoint`);
  return [...found.values()].sort(compareEndpoints);
}

export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}
