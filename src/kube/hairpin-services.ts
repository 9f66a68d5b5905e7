import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Service } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import type { ServiceLike } from '../model/objects.js';
import { KubeError } from './errors.js';
import { kubeCall } from './request.js';

/** Labels every Service this sink owns; it lists, changes and deletes no other. */
export const MANAGED_LABELS = { 'app.kubernetes.io/managed-by': 'hairpin-proxy', 'hairpin-proxy.io/role': 'upstream-hairpin' } as const;
export const UPSTREAM_ANNOTATION = 'hairpin-proxy.io/upstream';

/** One upstream's hairpin Service: its name, the upstream it reaches, and port → HAProxy frontend port. */
export interface HairpinServiceSpec {
  readonly name: string;
  readonly upstream: string;
  readonly ports: ReadonlyArray<{ readonly port: number; readonly listenPort: number }>;
}

export interface HairpinServiceChanges {
  readonly create: readonly V1Service[];
  /** Merge patches, each carrying the resourceVersion it was computed from. */
  readonly update: ReadonlyArray<{ readonly name: string; readonly patch: V1Service }>;
  readonly remove: ReadonlyArray<{ readonly name: string; readonly resourceVersion: string }>;
}

/**
 * Pure: what makes the live managed Services equal to the desired ones. Each selects the hairpin
 * Service's own pods (its selector, copied), so every upstream reaches the same HAProxy fleet.
 */
export function planHairpinServices(desired: readonly HairpinServiceSpec[], live: readonly ServiceLike[], selector: Readonly<Record<string, string>>): HairpinServiceChanges {
  const wanted = new Map(desired.map((spec) => [spec.name, serviceFor(spec, selector)]));
  const create: V1Service[] = [];
  const update: Array<{ name: string; patch: V1Service }> = [];
  for (const [name, want] of wanted) {
    const have = live.find((service) => service.metadata?.name === name);
    if (!have) create.push(want);
    else if (!sameShape(have, want)) update.push({ name, patch: patchFor(have, want) });
  }
  const remove = live
    .filter((service) => !wanted.has(service.metadata?.name ?? ''))
    .map((service) => ({ name: service.metadata?.name ?? '', resourceVersion: service.metadata?.resourceVersion ?? '' }));
  return { create, update, remove };
}

function serviceFor(spec: HairpinServiceSpec, selector: Readonly<Record<string, string>>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: spec.name, labels: { ...MANAGED_LABELS }, annotations: { [UPSTREAM_ANNOTATION]: spec.upstream } },
    spec: {
      type: 'ClusterIP',
      selector: { ...selector },
      ports: spec.ports.map(({ port, listenPort }) => ({ name: `tcp-${port}`, port, targetPort: listenPort as never, protocol: 'TCP' })),
    },
  };
}

/** A merge patch merges maps: selector keys the template no longer has are removed with null. */
function patchFor(have: ServiceLike, want: V1Service): V1Service {
  const selector: Record<string, string | null> = { ...want.spec?.selector };
  for (const key of Object.keys(have.spec?.selector ?? {})) if (!(key in selector)) selector[key] = null;
  return {
    metadata: { resourceVersion: have.metadata?.resourceVersion ?? '', labels: { ...want.metadata?.labels }, annotations: { ...want.metadata?.annotations } },
    spec: { selector: selector as Record<string, string>, ports: want.spec?.ports ?? [] },
  };
}

function sameShape(have: ServiceLike, want: V1Service): boolean {
  const ports = (service: { spec?: { ports?: ReadonlyArray<{ name?: string; port?: number; targetPort?: unknown; protocol?: string }> } }) =>
    JSON.stringify((service.spec?.ports ?? []).map((p) => [p.name, p.port, Number(p.targetPort), p.protocol ?? 'TCP']));
  return (
    ports(have) === ports(want) &&
    JSON.stringify(sorted(have.spec?.selector)) === JSON.stringify(sorted(want.spec?.selector)) &&
    have.metadata?.annotations?.[UPSTREAM_ANNOTATION] === want.metadata?.annotations?.[UPSTREAM_ANNOTATION]
  );
}

function sorted(record: Readonly<Record<string, string>> | undefined): Array<[string, string]> {
  return Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface HairpinServicesOutcome {
  readonly action: 'unchanged' | 'updated' | 'would-update';
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
}

/**
 * The only writer of the per-upstream hairpin Services (`--target`): reads the hairpin Service
 * for its selector and the managed Services by label, writes only differences, optimistically.
 * Run before the Corefile is written, so a host never resolves to a Service not there yet.
 */
export class HairpinServicesSink {
  constructor(
    private readonly core: CoreV1Api,
    readonly namespace: string,
    /** The hairpin Service whose pods every upstream's Service selects. */
    readonly template: string,
  ) {}

  async apply(desired: readonly HairpinServiceSpec[], context: { log: Logger; dryRun: boolean; signal?: AbortSignal }): Promise<HairpinServicesOutcome> {
    const { namespace, core } = this;
    const { signal, log } = context;
    const selector = desired.length > 0 ? await this.#templateSelector(signal) : {};
    const labelSelector = Object.entries(MANAGED_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
    const live = await kubeCall(`list Services ${namespace} (${labelSelector})`, signal, (o) => core.listNamespacedService({ namespace, labelSelector }, o));
    const changes = planHairpinServices(desired, live.items as ServiceLike[], selector);
    const outcome = {
      created: changes.create.map((s) => s.metadata?.name ?? ''),
      updated: changes.update.map((u) => u.name),
      removed: changes.remove.map((r) => r.name),
    };
    const changed = outcome.created.length + outcome.updated.length + outcome.removed.length > 0;
    if (!changed) return { action: 'unchanged', ...outcome };
    if (context.dryRun) {
      log.info(outcome, 'dry run: would change the hairpin Services');
      return { action: 'would-update', ...outcome };
    }
    for (const body of changes.create) {
      await kubeCall(`create Service ${namespace}/${body.metadata?.name ?? ''}`, signal, (o) => core.createNamespacedService({ namespace, body, fieldManager: 'hairpin-proxy' }, o));
    }
    for (const { name, patch } of changes.update) {
      await kubeCall(
        `update Service ${namespace}/${name}`,
        signal,
        (o) => core.patchNamespacedService({ namespace, name, body: patch, fieldManager: 'hairpin-proxy' }, o),
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    for (const { name, resourceVersion } of changes.remove) {
      await kubeCall(`delete Service ${namespace}/${name}`, signal, (o) => core.deleteNamespacedService({ namespace, name, body: { preconditions: { resourceVersion } } }, o));
    }
    log.info(outcome, 'hairpin Services updated');
    return { action: 'updated', ...outcome };
  }

  /** The hairpin Service's selector: the HAProxy pods every upstream's Service must select too. */
  async #templateSelector(signal: AbortSignal | undefined): Promise<Readonly<Record<string, string>>> {
    const operation = `read Service ${this.namespace}/${this.template}`;
    const template = await kubeCall(operation, signal, (o) => this.core.readNamespacedService({ namespace: this.namespace, name: this.template }, o));
    const selector = template.spec?.selector ?? {};
    if (Object.keys(selector).length === 0) throw new KubeError('Invalid', operation, undefined, 'it has no selector, so the hairpin Services of --target would select no HAProxy pod');
    return selector;
  }
}
