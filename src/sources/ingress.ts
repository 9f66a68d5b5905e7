import type { IngressClassLike, IngressLike } from '../model/objects.js';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** Every host an Ingress serves: rule hosts and TLS hosts (the original project read only TLS hosts). */
export function ingressHosts(ingress: IngressLike): string[] {
  const ruleHosts = (ingress.spec?.rules ?? []).map((rule) => rule.host);
  const tlsHosts = (ingress.spec?.tls ?? []).flatMap((tls) => tls.hosts ?? []);
  return [...new Set([...ruleHosts, ...tlsHosts].filter((host): host is string => host !== undefined && host !== ''))];
}

/**
 * The class an Ingress belongs to, as the ingress controllers decide it: the spec field first, the
 * legacy annotation next, and the cluster's default IngressClass for Ingresses that name neither.
 */
export function ingressClassOf(ingress: IngressLike, ingressClasses: readonly IngressClassLike[]): string | undefined {
  const named = ingress.spec?.ingressClassName ?? ingress.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (named !== undefined && named !== '') return named;
  const defaults = ingressClasses.filter((cls) => cls.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  // Kubernetes refuses to default when several classes claim it; so do we.
  return defaults.length === 1 ? defaults[0]?.metadata?.name : undefined;
}

/** An empty filter selects every Ingress; otherwise only those whose class is listed. */
export function selectsIngress(
  filter: readonly string[],
  ingress: IngressLike,
  ingressClasses: readonly IngressClassLike[],
): boolean {
  if (filter.length === 0) return true;
  const cls = ingressClassOf(ingress, ingressClasses);
  return cls !== undefined && filter.includes(cls);
}
