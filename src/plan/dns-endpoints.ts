import type { ServiceLike } from '../model/objects.js';
import { planAddresses } from './hosts.js';
import type { RoutePlan } from './routes.js';
import { shortHash } from './upstreams.js';

export const DNS_ENDPOINT_TTL = 30;

/** One DNSEndpoint (externaldns.k8s.io/v1alpha1) of ours: a routed host and its hairpin addresses. */
export interface DesiredDnsEndpoint {
  readonly name: string;
  readonly host: string;
  readonly endpoints: ReadonlyArray<{ readonly dnsName: string; readonly recordType: 'A' | 'AAAA'; readonly targets: readonly string[]; readonly recordTTL: number }>;
}

/**
 * Pure: for clusters whose CoreDNS cannot be edited (EKS Auto Mode, GKE Autopilot, locked-down
 * AKS), one DNSEndpoint per routed host, which an external-dns with `--source=crd` publishes into
 * the private zone the cluster resolves from: A (and AAAA on a dual-stack Service) records of the
 * host's hairpin Service ClusterIPs. Named after the host, with a hash so that a wildcard (`*`
 * has no place in a name) and a long host still get a unique valid name.
 */
export function planDnsEndpoints(plan: RoutePlan, services: readonly ServiceLike[], namespace: string): { readonly objects: readonly DesiredDnsEndpoint[]; readonly skipped: ReadonlyArray<{ host: string; reason: string }> } {
  const { entries, skipped } = planAddresses(plan, services, namespace);
  const objects = entries.map(({ host, addresses }) => {
    const v4 = addresses.filter((a) => !a.includes(':'));
    const v6 = addresses.filter((a) => a.includes(':'));
    return {
      name: dnsEndpointName(host),
      host,
      endpoints: [
        ...(v4.length > 0 ? [{ dnsName: host, recordType: 'A' as const, targets: v4, recordTTL: DNS_ENDPOINT_TTL }] : []),
        ...(v6.length > 0 ? [{ dnsName: host, recordType: 'AAAA' as const, targets: v6, recordTTL: DNS_ENDPOINT_TTL }] : []),
      ],
    };
  });
  return { objects, skipped };
}

export function dnsEndpointName(host: string): string {
  const readable = host.replace(/^\*\./, 'wildcard.').slice(0, 253 - 'hairpin-'.length - 9).replace(/[.-]+$/, '');
  return `hairpin-${shortHash(host)}-${readable}`;
}
