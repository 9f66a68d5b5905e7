import { checkHost } from '../sources/hostname.js';
import { routeHostnames } from '../sources/gateway.js';
import { ingressClassOf, ingressHosts, selectsIngress } from '../sources/ingress.js';
import { objectKey, type ObjectMeta, type Snapshot } from '../model/objects.js';
import {
  resolveUpstreams,
  upstreamForGateway,
  upstreamForIngress,
  type HairpinSettings,
  type NamespacedName,
  type ProxyVersion,
  type Upstream,
  type UpstreamChoice,
  type UpstreamMode,
  type UpstreamRule,
} from './upstreams.js';

/** On an Ingress or a route: "false" opts it out; with --opt-in, only "true" opts it in. */
export const ENABLED_ANNOTATION = 'hairpin-proxy.io/enabled';

export interface RoutePolicy {
  /** Ingress classes to serve; empty means all. */
  readonly ingressClasses: readonly string[];
  readonly mode: UpstreamMode;
  readonly hairpin: HairpinSettings;
  readonly optIn: boolean;
  readonly rewriteWhenIpModeProxy: boolean;
}

/** The flags a policy is made of (config.ts's Config has them; plan/ does not import it). */
export interface PolicyFlags {
  readonly ingressClasses: readonly string[];
  readonly targets: readonly UpstreamRule[];
  readonly ingressController: NamespacedName;
  readonly proxyProtocol: ProxyVersion;
  readonly targetNamespace: string;
  readonly targetService: string;
  readonly clusterDomain: string;
  readonly haproxyPorts: readonly number[];
  readonly optIn: boolean;
  readonly rewriteWhenIpModeProxy: boolean;
}

/** How hosts are chosen and where they go: one upstream, or --target's several. */
export function routePolicyOf(flags: PolicyFlags): RoutePolicy {
  return {
    ingressClasses: flags.ingressClasses,
    mode: flags.targets.length > 0 ? { kind: 'targets', rules: flags.targets } : { kind: 'single', upstream: flags.ingressController, proxyProtocol: flags.proxyProtocol },
    hairpin: { namespace: flags.targetNamespace, service: flags.targetService, clusterDomain: flags.clusterDomain, ports: flags.haproxyPorts },
    optIn: flags.optIn,
    rewriteWhenIpModeProxy: flags.rewriteWhenIpModeProxy,
  };
}

export interface PlannedRoute {
  readonly host: string;
  /** The name the host resolves to: its upstream's hairpin Service. */
  readonly target: string;
  /** Every object that asks for this host, as `ingress/<namespace>/<name>`, `httproute/…`. */
  readonly sources: readonly string[];
  /** The IngressClass or GatewayClass that chose the upstream; null where none applies. */
  readonly class: string | null;
  /** `NAMESPACE/SERVICE` of the ingress or gateway controller. */
  readonly upstream: string;
  readonly proxy: ProxyVersion;
  /** Only on `*.` hosts: an Ingress wildcard covers one label, a Gateway API one a suffix of one or more. */
  readonly wildcard?: 'one-label' | 'suffix';
  /**
   * The creationTimestamp (RFC 3339, UTC) of the oldest object claiming the host, '' when unknown:
   * where not every route fits, the oldest claims keep theirs, so a new host never evicts one.
   */
  readonly claimedSince: string;
}

/** Why a host is not routed. Only `invalid` and `conflict` are the object owner's to fix. */
export type SkipKind = 'invalid' | 'conflict' | 'unmapped' | 'opted-out' | 'ipmode-proxy';

export interface SkippedHost {
  readonly host: string;
  readonly reason: string;
  readonly source: string;
  readonly kind: SkipKind;
}

export interface RoutePlan {
  readonly routes: readonly PlannedRoute[];
  readonly skipped: readonly SkippedHost[];
  readonly upstreams: readonly Upstream[];
}

interface Claim {
  readonly sources: Set<string>;
  readonly classes: Set<string>;
  suffix: boolean;
  since: string;
}

/** Pure: the whole desired set of routes from one snapshot of the caches, sorted, one per host. */
export function planRoutes(snapshot: Snapshot, policy: RoutePolicy): RoutePlan {
  const upstreams = resolveUpstreams(policy.mode, snapshot.services ?? [], policy.hairpin);
  const claims = new Map<string, Map<string, Claim>>();
  const skipped: SkippedHost[] = [];
  const claim = (raw: string, source: string, choice: UpstreamChoice, suffix: boolean, since: string): void => {
    const checked = checkHost(raw, policy.hairpin.clusterDomain);
    if (!checked.ok) return void skipped.push({ host: raw, reason: checked.reason, source, kind: 'invalid' });
    if (choice.upstream === undefined) return void skipped.push({ host: checked.host, reason: choice.why, source, kind: 'unmapped' });
    const byUpstream = claims.get(checked.host) ?? new Map<string, Claim>();
    claims.set(checked.host, byUpstream);
    const entry = byUpstream.get(choice.upstream) ?? { sources: new Set<string>(), classes: new Set<string>(), suffix: false, since };
    byUpstream.set(choice.upstream, entry);
    entry.sources.add(source);
    if (since < entry.since) entry.since = since;
    if (choice.class !== undefined) entry.classes.add(choice.class);
    entry.suffix ||= suffix;
  };
  const selected = (meta: ObjectMeta | undefined, source: string, hosts: () => readonly string[]): boolean => {
    const enabled = meta?.annotations?.[ENABLED_ANNOTATION];
    if (enabled === 'false') for (const host of hosts()) skipped.push({ host, reason: `opted out (${ENABLED_ANNOTATION}: "false")`, source, kind: 'opted-out' });
    return enabled === 'true' || (!policy.optIn && enabled !== 'false');
  };

  for (const ingress of snapshot.ingresses) {
    const source = objectKey('ingress', ingress.metadata);
    if (!selectsIngress(policy.ingressClasses, ingress, snapshot.ingressClasses)) continue;
    if (!selected(ingress.metadata, source, () => ingressHosts(ingress))) continue;
    const choice = upstreamForIngress(policy.mode, ingressClassOf(ingress, snapshot.ingressClasses));
    const since = createdAt(ingress.metadata);
    for (const raw of ingressHosts(ingress)) claim(raw, source, choice, false, since);
  }
  // Without --target routes are ignored here; the controller says so once, not per host.
  if (policy.mode.kind === 'targets') {
    for (const route of snapshot.routes ?? []) {
      const source = objectKey((route.kind ?? 'route').toLowerCase(), route.metadata);
      const hostnames = routeHostnames(route, snapshot.gateways ?? []);
      if (!selected(route.metadata, source, () => [...new Set(hostnames.map((h) => h.hostname))])) continue;
      const since = createdAt(route.metadata);
      for (const { hostname, gateway, gatewayClass } of hostnames) {
        claim(hostname, source, upstreamForGateway(policy.mode, gateway, gatewayClass), hostname.startsWith('*.'), since);
      }
    }
  }

  const routes: PlannedRoute[] = [];
  for (const [host, byUpstream] of claims) {
    if (byUpstream.size > 1) {
      skipped.push(...conflicts(host, byUpstream));
      continue;
    }
    const [[key, entry]] = [...byUpstream] as [[string, Claim]];
    const upstream = upstreams.find((u) => u.key === key) as Upstream;
    const sources = [...entry.sources].sort(compare);
    if (upstream.ipModeProxy && !policy.rewriteWhenIpModeProxy) {
      const reason = `${key} reports ipMode Proxy: in-cluster traffic already passes its load balancer`;
      for (const source of sources) skipped.push({ host, reason, source, kind: 'ipmode-proxy' });
      continue;
    }
    routes.push({
      host,
      target: upstream.target,
      sources,
      class: [...entry.classes].sort(compare)[0] ?? null,
      upstream: key,
      proxy: upstream.proxyProtocol,
      ...(host.startsWith('*.') ? { wildcard: entry.suffix ? 'suffix' : 'one-label' } : {}),
      claimedSince: entry.since,
    });
  }
  routes.sort((a, b) => compare(a.host, b.host));
  skipped.sort((a, b) => compare(a.source, b.source) || compare(a.host, b.host) || compare(a.reason, b.reason));
  return { routes, skipped, upstreams };
}

/**
 * Routes oldest claim first (ties by host): the order in which they keep their place when not all
 * of them fit. An unknown age ('') sorts first: an object of unknown age is not a newcomer.
 */
export function byClaimAge(routes: readonly PlannedRoute[]): PlannedRoute[] {
  return [...routes].sort((a, b) => compare(a.claimedSince, b.claimedSince) || compare(a.host, b.host));
}

/** RFC 3339 to the second, as the apiserver writes it, whether the cache holds a string or a Date. */
function createdAt(meta: ObjectMeta | undefined): string {
  const created = meta?.creationTimestamp;
  if (created instanceof Date) return created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return created ?? '';
}

/** One entry per claimant, each naming the others: each owner sees whom to talk to. */
function conflicts(host: string, byUpstream: ReadonlyMap<string, Claim>): SkippedHost[] {
  const all = [...byUpstream.entries()].flatMap(([upstream, entry]) => [...entry.sources].map((source) => ({ upstream, source })));
  return all.map(({ upstream, source }) => {
    const others = all.filter((other) => other.upstream !== upstream).map((other) => `${other.source} (upstream ${other.upstream})`);
    return { host, source, kind: 'conflict', reason: `also claimed by ${others.join(', ')}; this one would go to ${upstream}` };
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
