import type { ServiceLike } from '../model/objects.js';
import type { RoutePlan } from './routes.js';

/** One /etc/hosts line group: a routed host and its hairpin Service's ClusterIP(s). */
export interface HostsEntry {
  readonly host: string;
  readonly addresses: readonly string[];
}

export interface HostsPlan {
  readonly entries: readonly HostsEntry[];
  /** Routed hosts /etc/hosts cannot carry, and why. */
  readonly skipped: ReadonlyArray<{ readonly host: string; readonly reason: string }>;
}

/**
 * Pure: what a node's /etc/hosts needs so that kubelet and the container runtime, which never ask
 * CoreDNS, reach ingress hosts through the hairpin too: each routed host → its target Service's
 * ClusterIP(s) (both families on a dual-stack Service). /etc/hosts has no wildcards.
 */
export function planHostsFile(plan: RoutePlan, services: readonly ServiceLike[], namespace: string): HostsPlan {
  return planAddresses(plan, services, namespace, '/etc/hosts cannot hold a wildcard');
}

/**
 * Pure: each routed host → its target Service's ClusterIP(s), for the places that need addresses
 * rather than a name to rewrite to (/etc/hosts, external-dns's DNSEndpoints). With a reason,
 * wildcard hosts are skipped with it.
 */
export function planAddresses(plan: RoutePlan, services: readonly ServiceLike[], namespace: string, skipWildcards?: string): HostsPlan {
  const entries: HostsEntry[] = [];
  const skipped: Array<{ host: string; reason: string }> = [];
  for (const route of plan.routes) {
    if (skipWildcards && route.host.startsWith('*.')) {
      skipped.push({ host: route.host, reason: skipWildcards });
      continue;
    }
    const name = route.target.split('.')[0];
    const service = services.find((s) => s.metadata?.namespace === namespace && s.metadata?.name === name);
    const addresses = (service?.spec?.clusterIPs ?? (service?.spec?.clusterIP ? [service.spec.clusterIP] : [])).filter((ip) => ip !== 'None' && ip !== '');
    if (addresses.length === 0) {
      skipped.push({ host: route.host, reason: `the Service ${namespace}/${name ?? ''} has no ClusterIP (yet)` });
      continue;
    }
    entries.push({ host: route.host, addresses });
  }
  return { entries, skipped };
}
