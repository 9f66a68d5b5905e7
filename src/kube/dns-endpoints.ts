import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import type { KubeApis } from './client.js';
import { KubeError } from './errors.js';
import { kubeCall } from './request.js';

const GROUP = 'externaldns.k8s.io';
const VERSION = 'v1alpha1';
const PLURAL = 'dnsendpoints';
/** Every DNSEndpoint of ours carries it; the sink lists, changes and deletes no other. */
export const DNS_ENDPOINT_LABELS = { 'app.kubernetes.io/managed-by': 'hairpin-proxy' } as const;

/** What this sink needs of a desired DNSEndpoint (plan/dns-endpoints.ts makes them). */
export interface DnsEndpointSpec {
  readonly name: string;
  readonly endpoints: ReadonlyArray<{ readonly dnsName: string; readonly recordType: string; readonly targets: readonly string[]; readonly recordTTL: number }>;
}

interface LiveDnsEndpoint {
  readonly metadata?: { readonly name?: string; readonly resourceVersion?: string };
  readonly spec?: { readonly endpoints?: unknown };
}

export interface DnsEndpointChanges {
  readonly create: readonly DnsEndpointSpec[];
  readonly update: ReadonlyArray<DnsEndpointSpec & { readonly resourceVersion: string }>;
  readonly remove: ReadonlyArray<{ readonly name: string; readonly resourceVersion: string }>;
}

/** Pure: what makes our live DNSEndpoints equal the desired ones. Their status is external-dns's. */
export function planDnsEndpointChanges(desired: readonly DnsEndpointSpec[], live: readonly LiveDnsEndpoint[]): DnsEndpointChanges {
  const byName = new Map(live.map((object) => [object.metadata?.name ?? '', object]));
  const wanted = new Set(desired.map((d) => d.name));
  return {
    create: desired.filter((d) => !byName.has(d.name)),
    update: desired.flatMap((d) => {
      const have = byName.get(d.name);
      return have && JSON.stringify(have.spec?.endpoints) !== JSON.stringify(d.endpoints) ? [{ ...d, resourceVersion: have.metadata?.resourceVersion ?? '' }] : [];
    }),
    remove: live.filter((o) => !wanted.has(o.metadata?.name ?? '')).map((o) => ({ name: o.metadata?.name ?? '', resourceVersion: o.metadata?.resourceVersion ?? '' })),
  };
}

export interface DnsEndpointsOutcome {
  readonly action: 'unchanged' | 'updated' | 'dry-run' | 'absent';
  readonly created: number;
  readonly updated: number;
  readonly removed: number;
}

/**
 * The only writer of hairpin-proxy's DNSEndpoints (`--coredns-mode external-dns`), in one
 * namespace: lists ours by label, creates, merge-patches (with resourceVersion) and deletes (with
 * a precondition) only the differences. Where the CRD is not installed there is nothing of ours
 * to remove: `absent`.
 */
export class DnsEndpointsSink {
  constructor(
    private readonly apis: KubeApis,
    readonly namespace: string,
  ) {}

  async apply(desired: readonly DnsEndpointSpec[], context: { log: Logger; dryRun: boolean; signal?: AbortSignal }): Promise<DnsEndpointsOutcome> {
    const { namespace } = this;
    const { custom } = this.apis;
    const { signal } = context;
    const labelSelector = Object.entries(DNS_ENDPOINT_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
    // Nothing to remove where the CRD is not served: asked through discovery, which every install may read.
    if (desired.length === 0 && !(await this.apis.kinds.serves(`${GROUP}/${VERSION}`, 'DNSEndpoint'))) return { action: 'absent', created: 0, updated: 0, removed: 0 };
    let live: LiveDnsEndpoint[];
    try {
      const list = (await kubeCall(`list DNSEndpoints ${namespace}`, signal, (o) =>
        custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, labelSelector }, o),
      )) as { items?: LiveDnsEndpoint[] };
      live = list.items ?? [];
    } catch (error) {
      // Without the CRD (every mode but external-dns may meet that), there is nothing of ours.
      if (desired.length === 0 && error instanceof KubeError && (error.kind === 'NotFound' || error.kind === 'Forbidden')) return { action: 'absent', created: 0, updated: 0, removed: 0 };
      throw error;
    }
    const changes = planDnsEndpointChanges(desired, live);
    const counts = { created: changes.create.length, updated: changes.update.length, removed: changes.remove.length };
    if (counts.created + counts.updated + counts.removed === 0) return { action: 'unchanged', ...counts };
    if (context.dryRun) {
      context.log.info({ ...counts, create: changes.create.map((c) => c.name), remove: changes.remove.map((r) => r.name) }, 'dry run: would change the DNSEndpoints');
      return { action: 'dry-run', ...counts };
    }
    for (const spec of changes.create) {
      const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'DNSEndpoint', metadata: { name: spec.name, namespace, labels: { ...DNS_ENDPOINT_LABELS } }, spec: { endpoints: spec.endpoints } };
      await kubeCall(`create DNSEndpoint ${namespace}/${spec.name}`, signal, (o) => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body }, o));
    }
    for (const spec of changes.update) {
      const body = { metadata: { resourceVersion: spec.resourceVersion }, spec: { endpoints: spec.endpoints } };
      await kubeCall(
        `update DNSEndpoint ${namespace}/${spec.name}`,
        signal,
        (o) => custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name: spec.name, body }, o),
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    for (const { name, resourceVersion } of changes.remove) {
      await kubeCall(`delete DNSEndpoint ${namespace}/${name}`, signal, (o) =>
        custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { preconditions: { resourceVersion } } }, o),
      );
    }
    context.log.info(counts, 'DNSEndpoints updated');
    return { action: 'updated', ...counts };
  }
}
