/**
 * What Gateway API routes ask for: the hostnames an HTTPRoute, GRPCRoute or TLSRoute serves through
 * each Gateway that accepted it, by the rules of the Gateway API spec (and as external-dns reads
 * them).
 *
 * - A route counts for a Gateway only where its `status.parents[]` has an entry for that Gateway
 *   with the condition `Accepted=True`: the Gateway's controller has taken it. Route and Gateway
 *   must both be in the snapshot; a parent of another group or kind (a Service, a mesh) is not a
 *   Gateway and gives nothing.
 * - The listeners it attaches to: the one its parentRef names by `sectionName`, those on its
 *   `port`, or all of them; of those, the ones whose protocol carries the route's kind (HTTP and
 *   HTTPS for HTTPRoute and GRPCRoute, TLS for TLSRoute) and whose `allowedRoutes.namespaces` admit
 *   the route's namespace (`Same`, the default, or `All`; `Selector` is trusted to the Accepted
 *   status, since namespace labels are not in the snapshot).
 * - The hostnames through one listener: the intersection of the route's and the listener's
 *   (`intersectHostnames`); either side alone when the other has none; nothing when neither has any,
 *   for such a route matches every host, which cannot be hairpinned.
 *
 * A Gateway API wildcard `*.example.com` is a suffix match of ONE OR MORE labels (it matches
 * `a.example.com` and `a.b.example.com`, never `example.com`), where an Ingress wildcard matches
 * exactly one label. The hostnames returned here are raw (validation, trimming and the trailing dot
 * are left to checkHost); the caller must render a Gateway wildcard as the suffix match it is.
 */
import type { GatewayLike, ListenerLike, ParentRefLike, RouteKind, RouteLike } from '../model/objects.js';

export interface GatewayRef {
  readonly namespace: string;
  readonly name: string;
}

/** One hostname a route serves through one Gateway; the hostname is raw (lower-casing/validation is done later by checkHost). */
export interface RouteHostname {
  readonly hostname: string;
  readonly gateway: GatewayRef;
  readonly gatewayClass: string | undefined;
}

export const ROUTE_KINDS: readonly RouteKind[] = ['HTTPRoute', 'GRPCRoute', 'TLSRoute'];

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Listener protocols that carry each route kind (the spec's core protocols). */
const PROTOCOLS: Readonly<Record<RouteKind, readonly string[]>> = {
  HTTPRoute: ['HTTP', 'HTTPS'],
  GRPCRoute: ['HTTP', 'HTTPS'],
  TLSRoute: ['TLS'],
};

/** Kubernetes puts an object given without a namespace into `default`, as kubectl does. */
const DEFAULT_NAMESPACE = 'default';

/**
 * Every hostname a route serves, per Gateway that accepted it: de-duplicated by (hostname, Gateway),
 * sorted by the Gateway's namespace and name, then by hostname. Hostnames are lower-cased.
 */
export function routeHostnames(route: RouteLike, gateways: readonly GatewayLike[]): RouteHostname[] {
  const kind = ROUTE_KINDS.find((known) => known === route.kind);
  if (kind === undefined) return [];
  const routeNamespace = route.metadata?.namespace || DEFAULT_NAMESPACE;
  const hostnames = (route.spec?.hostnames ?? []).filter((hostname) => hostname !== '');
  const found = new Map<string, RouteHostname>();
  for (const parent of route.status?.parents ?? []) {
    if (!isAccepted(parent.conditions) || parent.parentRef === undefined) continue;
    const target = gatewayOf(parent.parentRef, routeNamespace);
    if (target === undefined) continue;
    const gateway = gateways.find(
      (candidate) => (candidate.metadata?.namespace || DEFAULT_NAMESPACE) === target.namespace && candidate.metadata?.name === target.name,
    );
    if (gateway === undefined) continue;
    const refs = sectionsOf(parent.parentRef, route.spec?.parentRefs ?? [], target, routeNamespace);
    const listeners = (gateway.spec?.listeners ?? []).filter(
      (listener) =>
        refs.some((ref) => selects(ref, listener)) &&
        PROTOCOLS[kind].includes(listener.protocol ?? '') &&
        admits(listener, routeNamespace, target.namespace),
    );
    for (const listener of listeners) {
      for (const hostname of hostnamesThrough(hostnames, listener.hostname)) {
        const key = JSON.stringify([target.namespace, target.name, hostname]);
        if (!found.has(key)) found.set(key, { hostname, gateway: target, gatewayClass: gateway.spec?.gatewayClassName });
      }
    }
  }
  return [...found.values()].sort(
    (a, b) => compare(a.gateway.namespace, b.gateway.namespace) || compare(a.gateway.name, b.gateway.name) || compare(a.hostname, b.hostname),
  );
}

/**
 * The hostnames both a route hostname and a listener hostname match, by the Gateway API spec:
 * always one of the two (the more specific), or undefined when they share none. Case-insensitive;
 * the result is lower-cased. `*.s` matches names with one or more labels before `s`, not `s` itself.
 * Symmetric: the argument names only say where each comes from.
 */
export function intersectHostnames(routeHostname: string, listenerHostname: string): string | undefined {
  const route = routeHostname.toLowerCase();
  const listener = listenerHostname.toLowerCase();
  if (route === '' || listener === '') return undefined;
  if (route === listener) return route;
  const routeSuffix = wildcardSuffix(route);
  const listenerSuffix = wildcardSuffix(listener);
  if (routeSuffix === undefined) return listenerSuffix !== undefined && underSuffix(route, listenerSuffix) ? route : undefined;
  if (listenerSuffix === undefined) return underSuffix(listener, routeSuffix) ? listener : undefined;
  // Two wildcards (already unequal): the one whose suffix lies under the other's.
  if (underSuffix(routeSuffix, listenerSuffix)) return route;
  if (underSuffix(listenerSuffix, routeSuffix)) return listener;
  return undefined;
}

/** `.example.com` for `*.example.com`; undefined for a name that is not a wildcard. */
function wildcardSuffix(hostname: string): string | undefined {
  return hostname.startsWith('*.') ? hostname.slice(1) : undefined;
}

/** Whether `name` has at least one more character (so one more label) before `suffix`. */
function underSuffix(name: string, suffix: string): boolean {
  return name.length > suffix.length && name.endsWith(suffix);
}

function isAccepted(conditions: ReadonlyArray<{ readonly type?: string; readonly status?: string }> | undefined): boolean {
  return (conditions ?? []).some((condition) => condition.type === 'Accepted' && condition.status === 'True');
}

/** The Gateway a parentRef refers to, with the spec's defaults; undefined for any other kind of parent. */
function gatewayOf(ref: ParentRefLike, routeNamespace: string): GatewayRef | undefined {
  if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') return undefined;
  if (ref.name === undefined || ref.name === '') return undefined;
  return { namespace: ref.namespace || routeNamespace, name: ref.name };
}

/**
 * The parentRefs whose sectionName and port pick the listeners: the accepted status entry's own
 * when it names a section or a port (that is what the Gateway's controller accepted); otherwise the
 * route's spec parentRefs to the same Gateway (a controller may leave them out of the status); and
 * the status entry itself, meaning every listener, when the spec has none for that Gateway.
 */
function sectionsOf(
  accepted: ParentRefLike,
  specRefs: readonly ParentRefLike[],
  target: GatewayRef,
  routeNamespace: string,
): readonly ParentRefLike[] {
  if (accepted.sectionName !== undefined || accepted.port !== undefined) return [accepted];
  const same = specRefs.filter((ref) => {
    const gateway = gatewayOf(ref, routeNamespace);
    return gateway !== undefined && gateway.namespace === target.namespace && gateway.name === target.name;
  });
  return same.length > 0 ? same : [accepted];
}

/** Both sectionName and port must match where both are given (the spec's rule). */
function selects(ref: ParentRefLike, listener: ListenerLike): boolean {
  return (ref.sectionName === undefined || ref.sectionName === listener.name) && (ref.port === undefined || ref.port === listener.port);
}

function admits(listener: ListenerLike, routeNamespace: string, gatewayNamespace: string): boolean {
  switch (listener.allowedRoutes?.namespaces?.from ?? 'Same') {
    case 'Same':
      return routeNamespace === gatewayNamespace;
    case 'All':
    case 'Selector':
      return true;
    default:
      return false;
  }
}

/** The hostnames a route serves through one listener (see the module comment). */
function hostnamesThrough(routeHostnames: readonly string[], listenerHostname: string | undefined): string[] {
  const listener = listenerHostname ?? '';
  if (routeHostnames.length === 0) return listener === '' ? [] : [listener.toLowerCase()];
  if (listener === '') return routeHostnames.map((hostname) => hostname.toLowerCase());
  return routeHostnames.flatMap((hostname) => intersectHostnames(hostname, listener) ?? []);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
