import { checkHost } from '../sources/hostname.js';
import { routeHostnames } from '../sources/gateway.js';
import { ingressClassOf, ingressHosts, selectsIngress } from '../sources/ingress.js';
import { creationTimestampOf, objectKey, type IngressLike, type ObjectMeta, type RouteLike, type Snapshot } from '../model/objects.js';
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

/** One upstream's claim on a host. Arrays, not Sets: almost every host has one source and one class. */
interface Claim {
  readonly upstream: string;
  readonly sources: string[];
  readonly classes: string[];
  suffix: boolean;
  since: string;
}

/** What one Ingress or route asks for, whatever the other objects ask: its checked hosts and its skips. */
interface Contribution {
  readonly source: string;
  readonly since: string;
  readonly hosts: ReadonlyArray<{ readonly host: string; readonly upstream: string; readonly class: string | undefined; readonly suffix: boolean }>;
  readonly skipped: readonly SkippedHost[];
}

/**
 * Contributions of unchanged objects, reused across syncs: the informer caches hand out the same
 * object until it changes, so a change to one Ingress re-checks only its own hosts. Keyed by the
 * policy and by the IngressClasses and Gateways every contribution depends on (a change to any
 * of those starts afresh); memoizing a pure function keeps planRoutes pure.
 */
interface ContributionMemo {
  readonly ingressClasses: readonly object[];
  readonly gateways: readonly object[];
  readonly byObject: WeakMap<object, Contribution>;
}
const memos = new WeakMap<RoutePolicy, ContributionMemo>();

function memoFor(policy: RoutePolicy, snapshot: Snapshot): WeakMap<object, Contribution> {
  const gateways = snapshot.gateways ?? [];
  const memo = memos.get(policy);
  if (memo && sameObjects(memo.ingressClasses, snapshot.ingressClasses) && sameObjects(memo.gateways, gateways)) return memo.byObject;
  const fresh = { ingressClasses: snapshot.ingressClasses, gateways, byObject: new WeakMap<object, Contribution>() };
  memos.set(policy, fresh);
  return fresh.byObject;
}

function sameObjects(a: readonly object[], b: readonly object[]): boolean {
  return a.length === b.length && a.every((object, i) => object === b[i]);
}

/** Pure: the whole desired set of routes from one snapshot of the caches, sorted, one per host. */
export function planRoutes(snapshot: Snapshot, policy: RoutePolicy): RoutePlan {
  const upstreams = resolveUpstreams(policy.mode, snapshot.services ?? [], policy.hairpin);
  const memo = memoFor(policy, snapshot);
  const contributions: Contribution[] = [];
  const contribute = (object: object, compute: () => Contribution | undefined) => {
    let contribution = memo.get(object);
    if (!contribution) {
      contribution = compute() ?? { source: '', since: '', hosts: [], skipped: [] };
      memo.set(object, contribution);
    }
    contributions.push(contribution);
  };
  for (const ingress of snapshot.ingresses) contribute(ingress, () => ingressContribution(ingress, snapshot, policy));
  // Without --target routes are ignored here; the controller says so once, not per host.
  if (policy.mode.kind === 'targets') for (const route of snapshot.routes ?? []) contribute(route, () => routeContribution(route, snapshot, policy));

  // Host to its claims, one per upstream; more than one is a conflict.
  const claims = new Map<string, Claim[]>();
  const skipped: SkippedHost[] = [];
  for (const { source, since, hosts, skipped: own } of contributions) {
    for (const skip of own) skipped.push(skip);
    for (const { host, upstream, class: cls, suffix } of hosts) {
      const byUpstream = claims.get(host);
      const entry = byUpstream?.find((claim) => claim.upstream === upstream);
      if (!entry) {
        const claim = { upstream, sources: [source], classes: cls === undefined ? [] : [cls], suffix, since };
        if (byUpstream) byUpstream.push(claim);
        else claims.set(host, [claim]);
        continue;
      }
      if (!entry.sources.includes(source)) entry.sources.push(source);
      if (cls !== undefined && !entry.classes.includes(cls)) entry.classes.push(cls);
      if (since < entry.since) entry.since = since;
      entry.suffix ||= suffix;
    }
  }

  const upstreamByKey = new Map(upstreams.map((upstream) => [upstream.key, upstream]));
  const routes: PlannedRoute[] = [];
  for (const [host, byUpstream] of claims) {
    const [entry] = byUpstream as [Claim];
    if (byUpstream.length > 1) {
      skipped.push(...conflicts(host, byUpstream));
      continue;
    }
    const upstream = upstreamByKey.get(entry.upstream) as Upstream;
    const sources = entry.sources.length > 1 ? entry.sources.sort(compare) : entry.sources;
    if (upstream.ipModeProxy && !policy.rewriteWhenIpModeProxy) {
      const reason = `${entry.upstream} reports ipMode Proxy: in-cluster traffic already passes its load balancer`;
      for (const source of sources) skipped.push({ host, reason, source, kind: 'ipmode-proxy' });
      continue;
    }
    routes.push({
      host,
      target: upstream.target,
      sources,
      class: (entry.classes.length > 1 ? entry.classes.sort(compare) : entry.classes)[0] ?? null,
      upstream: entry.upstream,
      proxy: upstream.proxyProtocol,
      ...(host.startsWith('*.') ? { wildcard: entry.suffix ? 'suffix' : 'one-label' } : {}),
      claimedSince: entry.since,
    });
  }
  routes.sort((a, b) => compare(a.host, b.host));
  skipped.sort((a, b) => compare(a.source, b.source) || compare(a.host, b.host) || compare(a.reason, b.reason));
  return { routes, skipped, upstreams };
}

function ingressContribution(ingress: IngressLike, snapshot: Snapshot, policy: RoutePolicy): Contribution | undefined {
  if (!selectsIngress(policy.ingressClasses, ingress, snapshot.ingressClasses)) return undefined;
  const source = objectKey('ingress', ingress.metadata);
  const hosts = ingressHosts(ingress);
  const optedOut = optedOutSkips(ingress.metadata, source, hosts, policy);
  if (optedOut) return { source, since: '', hosts: [], skipped: optedOut };
  const choice = upstreamForIngress(policy.mode, ingressClassOf(ingress, snapshot.ingressClasses));
  return checkedClaims(source, creationTimestampOf(ingress.metadata) ?? '', hosts.map((host) => ({ host, choice, suffix: false })), policy);
}

function routeContribution(route: RouteLike, snapshot: Snapshot, policy: RoutePolicy): Contribution {
  const source = objectKey((route.kind ?? 'route').toLowerCase(), route.metadata);
  const hostnames = routeHostnames(route, snapshot.gateways ?? []);
  const optedOut = optedOutSkips(route.metadata, source, [...new Set(hostnames.map((h) => h.hostname))], policy);
  if (optedOut) return { source, since: '', hosts: [], skipped: optedOut };
  const requests = hostnames.map(({ hostname, gateway, gatewayClass }) => ({
    host: hostname,
    choice: upstreamForGateway(policy.mode, gateway, gatewayClass),
    suffix: hostname.startsWith('*.'),
  }));
  return checkedClaims(source, creationTimestampOf(route.metadata) ?? '', requests, policy);
}

/** The skips of an object that is not selected (opted out, or not opted in), else undefined. */
function optedOutSkips(meta: ObjectMeta | undefined, source: string, hosts: readonly string[], policy: RoutePolicy): SkippedHost[] | undefined {
  const enabled = meta?.annotations?.[ENABLED_ANNOTATION];
  if (enabled === 'true' || (!policy.optIn && enabled !== 'false')) return undefined;
  if (enabled !== 'false') return [];
  return hosts.map((host) => ({ host, reason: `opted out (${ENABLED_ANNOTATION}: "false")`, source, kind: 'opted-out' }));
}

function checkedClaims(
  source: string,
  since: string,
  requests: ReadonlyArray<{ readonly host: string; readonly choice: UpstreamChoice; readonly suffix: boolean }>,
  policy: RoutePolicy,
): Contribution {
  const hosts: Array<Contribution['hosts'][number]> = [];
  const skipped: SkippedHost[] = [];
  for (const { host: raw, choice, suffix } of requests) {
    const checked = checkHost(raw, policy.hairpin.clusterDomain);
    if (!checked.ok) skipped.push({ host: raw, reason: checked.reason, source, kind: 'invalid' });
    else if (choice.upstream === undefined) skipped.push({ host: checked.host, reason: choice.why, source, kind: 'unmapped' });
    else hosts.push({ host: checked.host, upstream: choice.upstream, class: choice.class, suffix });
  }
  return { source, since, hosts, skipped };
}

/**
 * Routes oldest claim first (ties by host): the order in which they keep their place when not all
 * of them fit. An unknown age ('') sorts first: an object of unknown age is not a newcomer.
 */
export function byClaimAge(routes: readonly PlannedRoute[]): PlannedRoute[] {
  return [...routes].sort((a, b) => compare(a.claimedSince, b.claimedSince) || compare(a.host, b.host));
}

/** One entry per claimant, each naming the others: each owner sees whom to talk to. */
function conflicts(host: string, byUpstream: readonly Claim[]): SkippedHost[] {
  const all = byUpstream.flatMap(({ upstream, sources }) => sources.map((source) => ({ upstream, source })));
  return all.map(({ upstream, source }) => {
    const others = all.filter((other) => other.upstream !== upstream).map((other) => `${other.source} (upstream ${other.upstream})`);
    return { host, source, kind: 'conflict', reason: `also claimed by ${others.join(', ')}; this one would go to ${upstream}` };
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
