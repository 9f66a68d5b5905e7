/**
 * Which upstream (ingress or gateway controller Service) serves a host, the PROXY version it
 * expects, and the hairpin Service that sends traffic to it. Pure: the controller, the HAProxy
 * desired state and the offline `plan` all read the same answer.
 *
 * Two modes. Without `--target` there is one upstream, as before: `--ingress-controller`, behind
 * the hairpin Service itself, on the ports HAProxy listens on. With `--target`, every upstream
 * gets its own hairpin Service (named after it, created by the controller, same pods) whose ports
 * reach its own block of HAProxy frontends: one HAProxy fleet, one address per upstream, since
 * DNS can only tell a client where to connect, not which upstream to use once it is there.
 */
import type { ServiceLike } from '../model/objects.js';

export type ProxyVersion = 'v1' | 'v2';

/** Set on an upstream Service to choose the PROXY protocol version for it. */
export const PROXY_PROTOCOL_ANNOTATION = 'hairpin-proxy.io/proxy-protocol';

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

export type TargetKey = { readonly kind: 'class'; readonly name: string } | { readonly kind: 'gateway'; readonly namespace: string; readonly name: string };

export interface UpstreamRule {
  readonly keys: readonly TargetKey[];
  readonly upstream: NamespacedName;
  /** Wins over the Service's annotation; undefined: the annotation, else v1. */
  readonly proxyProtocol: ProxyVersion | undefined;
}

export type UpstreamMode =
  | { readonly kind: 'single'; readonly upstream: NamespacedName; readonly proxyProtocol: ProxyVersion }
  | { readonly kind: 'targets'; readonly rules: readonly UpstreamRule[] };

export interface HairpinSettings {
  /** The hairpin Service (`--target-service`) and its namespace. */
  readonly namespace: string;
  readonly service: string;
  readonly clusterDomain: string;
  /** The ports HAProxy serves for every upstream (`--haproxy-ports`). */
  readonly ports: readonly number[];
}

/** One upstream, resolved: where its hosts resolve to and how HAProxy reaches it. */
export interface Upstream {
  /** `NAMESPACE/NAME` of its Service. */
  readonly key: string;
  readonly service: NamespacedName;
  readonly proxyProtocol: ProxyVersion;
  /** Why this version: for logs and the plan. */
  readonly proxySource: 'flag' | 'annotation' | 'default';
  /** What its HAProxy sections are named after: `ingress` alone, as before; `NAMESPACE_NAME` with --target. */
  readonly haproxyName: string;
  /** The hairpin Service its hosts resolve to (in the hairpin namespace). */
  readonly hairpinService: string;
  /** Its cluster DNS name: the rewrite target. */
  readonly target: string;
  /** Service port → the HAProxy frontend port behind it. */
  readonly ports: ReadonlyArray<{ readonly port: number; readonly listenPort: number }>;
  /** Its load balancer reports ipMode Proxy: in-cluster traffic already passes the load balancer. */
  readonly ipModeProxy: boolean;
  /** Problems with its inputs, for logs (an annotation that is not v1 or v2). */
  readonly warnings: readonly string[];
}

/** Frontend ports of `--target` upstreams: a block of ten per upstream from here. */
export const TARGET_PORT_BASE = 20_000;
export const TARGET_PORT_SLOTS = 1_000;
export const MAX_TARGET_PORTS = 10;

/** Every upstream of the mode, sorted by key, resolved against the Services the caches hold. */
export function resolveUpstreams(mode: UpstreamMode, services: readonly ServiceLike[], hairpin: HairpinSettings): Upstream[] {
  const serviceOf = (ref: NamespacedName) => services.find((s) => s.metadata?.namespace === ref.namespace && s.metadata?.name === ref.name);
  if (mode.kind === 'single') {
    const service = serviceOf(mode.upstream);
    return [
      {
        ...identity(mode.upstream),
        ...proxyOf(service, undefined, mode.proxyProtocol),
        haproxyName: 'ingress',
        hairpinService: hairpin.service,
        target: fqdn(hairpin.service, hairpin),
        ports: hairpin.ports.map((port) => ({ port, listenPort: port })),
        ipModeProxy: reportsIpModeProxy(service),
      },
    ];
  }
  const rules = [...mode.rules].sort((a, b) => compare(identity(a.upstream).key, identity(b.upstream).key));
  const slots = portSlots(rules.map((rule) => identity(rule.upstream).key));
  return rules.map((rule) => {
    const { key } = identity(rule.upstream);
    const service = serviceOf(rule.upstream);
    const name = hairpinServiceName(hairpin.service, rule.upstream);
    const base = TARGET_PORT_BASE + (slots.get(key) ?? 0) * MAX_TARGET_PORTS;
    return {
      ...identity(rule.upstream),
      ...proxyOf(service, rule.proxyProtocol, 'v1'),
      haproxyName: `${rule.upstream.namespace}_${rule.upstream.name}`,
      hairpinService: name,
      target: fqdn(name, hairpin),
      ports: hairpin.ports.map((port, index) => ({ port, listenPort: base + index })),
      ipModeProxy: reportsIpModeProxy(service),
    };
  });
}

/** The upstream Services a mode names, in flag order: what is watched for each. */
export function upstreamRefs(mode: UpstreamMode): NamespacedName[] {
  return mode.kind === 'single' ? [mode.upstream] : mode.rules.map((rule) => rule.upstream);
}

/** The upstream key that serves a source, or undefined when none does. */
export type UpstreamChoice = { readonly upstream: string; readonly class: string | undefined } | { readonly upstream: undefined; readonly why: string };

export function upstreamForIngress(mode: UpstreamMode, ingressClass: string | undefined): UpstreamChoice {
  if (mode.kind === 'single') return { upstream: identity(mode.upstream).key, class: ingressClass };
  const rule = ingressClass === undefined ? undefined : mode.rules.find((r) => r.keys.some((k) => k.kind === 'class' && k.name === ingressClass));
  if (rule) return { upstream: identity(rule.upstream).key, class: ingressClass };
  return { upstream: undefined, why: ingressClass === undefined ? 'the Ingress has no class, and --target maps classes' : `IngressClass ${ingressClass} has no --target` };
}

/** A Gateway's own key wins over its class. Without --target, Gateway API routes are not served. */
export function upstreamForGateway(mode: UpstreamMode, gateway: NamespacedName, gatewayClass: string | undefined): UpstreamChoice {
  if (mode.kind === 'single') return { upstream: undefined, why: 'Gateway API routes need a --target' };
  const own = mode.rules.find((r) => r.keys.some((k) => k.kind === 'gateway' && k.namespace === gateway.namespace && k.name === gateway.name));
  const byClass = gatewayClass === undefined ? undefined : mode.rules.find((r) => r.keys.some((k) => k.kind === 'class' && k.name === gatewayClass));
  const rule = own ?? byClass;
  if (rule) return { upstream: identity(rule.upstream).key, class: gatewayClass };
  return { upstream: undefined, why: `neither Gateway ${gateway.namespace}/${gateway.name} nor GatewayClass ${gatewayClass ?? '(none)'} has a --target` };
}

/** Every load balancer address reports ipMode Proxy (KEP-1860): kube-proxy then does not short-circuit it. */
export function reportsIpModeProxy(service: ServiceLike | undefined): boolean {
  const ingress = service?.status?.loadBalancer?.ingress ?? [];
  return ingress.length > 0 && ingress.every((entry) => entry.ipMode === 'Proxy');
}

function identity(ref: NamespacedName): { key: string; service: NamespacedName } {
  return { key: `${ref.namespace}/${ref.name}`, service: { namespace: ref.namespace, name: ref.name } };
}

function proxyOf(service: ServiceLike | undefined, explicit: ProxyVersion | undefined, fallback: ProxyVersion): Pick<Upstream, 'proxyProtocol' | 'proxySource' | 'warnings'> {
  if (explicit) return { proxyProtocol: explicit, proxySource: 'flag', warnings: [] };
  const annotation = service?.metadata?.annotations?.[PROXY_PROTOCOL_ANNOTATION];
  if (annotation === 'v1' || annotation === 'v2') return { proxyProtocol: annotation, proxySource: 'annotation', warnings: [] };
  const warnings = annotation === undefined ? [] : [`annotation ${PROXY_PROTOCOL_ANNOTATION}=${JSON.stringify(annotation)} is not v1 or v2; using ${fallback}`];
  return { proxyProtocol: fallback, proxySource: 'default', warnings };
}

function fqdn(service: string, hairpin: HairpinSettings): string {
  return `${service}.${hairpin.namespace}.svc.${hairpin.clusterDomain}`;
}

/**
 * `<hairpin service>-<upstream name>-<hash>`, within a DNS label's 63 characters: readable, and
 * the hash keeps two upstreams of the same name in different namespaces apart.
 */
export function hairpinServiceName(hairpinService: string, upstream: NamespacedName): string {
  const hash = shortHash(`${upstream.namespace}/${upstream.name}`).slice(0, 6);
  const prefix = hairpinService.slice(0, 63 - hash.length - 1).replace(/-+$/, '');
  const room = 63 - prefix.length - hash.length - 2;
  const middle = upstream.name.slice(0, Math.max(0, room)).replace(/-+$/, '');
  return middle === '' ? `${prefix}-${hash}` : `${prefix}-${middle}-${hash}`;
}

/**
 * A port block per upstream, chosen by a hash of its key so that adding or removing another
 * upstream moves no one's ports (a move would briefly send its clients to a stranger's frontend).
 * Collisions take the next free block, in key order.
 */
function portSlots(keys: readonly string[]): Map<string, number> {
  const taken = new Set<number>();
  const slots = new Map<string, number>();
  for (const key of keys) {
    let slot = fnv1a(key) % TARGET_PORT_SLOTS;
    while (taken.has(slot)) slot = (slot + 1) % TARGET_PORT_SLOTS;
    taken.add(slot);
    slots.set(key, slot);
  }
  return slots;
}

/** 8 hex digits of FNV-1a: a stable suffix that keeps generated names apart. */
export function shortHash(text: string): string {
  return fnv1a(text).toString(16).padStart(8, '0');
}

/** FNV-1a, 32 bits: a stable, dependency-free hash for names and ports. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
