import { checkHost } from '../sources/hostname.js';
import { ingressHosts, selectsIngress } from '../sources/ingress.js';
import { objectKey, type Snapshot } from '../model/objects.js';

export interface RoutePolicy {
  /** Ingress classes to serve; empty means all. */
  readonly ingressClasses: readonly string[];
  readonly target: string;
  readonly clusterDomain: string;
}

export interface PlannedRoute {
  readonly host: string;
  readonly target: string;
  /** Every Ingress that asks for this host, as `ingress/<namespace>/<name>`. */
  readonly sources: readonly string[];
}

export interface SkippedHost {
  readonly host: string;
  readonly reason: string;
  readonly source: string;
}

export interface RoutePlan {
  readonly routes: readonly PlannedRoute[];
  readonly skipped: readonly SkippedHost[];
}

/** Pure: the whole desired set of routes from one snapshot of the caches, sorted, one per host. */
export function planRoutes(snapshot: Snapshot, policy: RoutePolicy): RoutePlan {
  const sourcesByHost = new Map<string, Set<string>>();
  const skipped: SkippedHost[] = [];
  for (const ingress of snapshot.ingresses) {
    if (!selectsIngress(policy.ingressClasses, ingress, snapshot.ingressClasses)) continue;
    const source = objectKey('ingress', ingress.metadata);
    for (const raw of ingressHosts(ingress)) {
      const checked = checkHost(raw, policy.clusterDomain);
      if (!checked.ok) {
        skipped.push({ host: raw, reason: checked.reason, source });
        continue;
      }
      const sources = sourcesByHost.get(checked.host) ?? new Set<string>();
      sources.add(source);
      sourcesByHost.set(checked.host, sources);
    }
  }
  const routes = [...sourcesByHost.entries()]
    .map(([host, sources]) => ({ host, target: policy.target, sources: [...sources].sort() }))
    .sort((a, b) => compare(a.host, b.host));
  skipped.sort((a, b) => compare(a.source, b.source) || compare(a.host, b.host));
  return { routes, skipped };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
