import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import type { GatewayLike, RouteLike } from '../model/objects.js';
import type { KubeApis } from './client.js';
import { KubeError } from './errors.js';
import { ResilientInformer, type Cached, type InformerOptions } from './informer.js';
import { slimGateway, slimRoute } from './slim.js';
import { kubeCall } from './request.js';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** What is read, and the versions tried, newest first: the first one served is watched. */
export const GATEWAY_API_KINDS = [
  { kind: 'Gateway', plural: 'gateways', versions: ['v1', 'v1beta1'] },
  { kind: 'HTTPRoute', plural: 'httproutes', versions: ['v1', 'v1beta1'] },
  { kind: 'GRPCRoute', plural: 'grpcroutes', versions: ['v1'] },
  { kind: 'TLSRoute', plural: 'tlsroutes', versions: ['v1', 'v1alpha3', 'v1alpha2'] },
] as const;

type Kind = (typeof GATEWAY_API_KINDS)[number]['kind'];

/**
 * The Gateway API watches, which come and go with their CRDs. Absent CRDs are not an error: each
 * missing kind is looked for again every recheck period, and a kind that appears is watched from
 * then on, without a restart (onDiscovered says so, so that the routes are planned at once).
 */
export class GatewayApiWatches {
  readonly #informers = new Map<Kind, ResilientInformer<Cached>>();
  readonly #changeListeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly apis: KubeApis,
    private readonly options: InformerOptions & { readonly recheckMs: number; readonly onDiscovered: (informers: ReadonlyArray<ResilientInformer<Cached>>) => void },
  ) {}

  get informers(): ReadonlyArray<ResilientInformer<Cached>> {
    return [...this.#informers.values()];
  }

  onChange(listener: () => void): void {
    this.#changeListeners.add(listener);
    for (const informer of this.#informers.values()) informer.onChange(listener);
  }

  gateways(): GatewayLike[] {
    return (this.#informers.get('Gateway')?.list() ?? []) as GatewayLike[];
  }

  /** Every route, each with its kind (the list's items may not carry it). */
  routes(): RouteLike[] {
    return (['HTTPRoute', 'GRPCRoute', 'TLSRoute'] as const).flatMap((kind) => withKind(kind, (this.#informers.get(kind)?.list() ?? []) as RouteLike[]));
  }

  /** Looks for the kinds not watched yet; creates (does not start) their informers and returns them. */
  async discover(signal?: AbortSignal): Promise<Array<ResilientInformer<Cached>>> {
    const found: Array<ResilientInformer<Cached>> = [];
    for (const spec of GATEWAY_API_KINDS) {
      if (this.#informers.has(spec.kind)) continue;
      const version = await servedVersion(this.apis, spec.plural, spec.versions, signal);
      if (version === undefined) continue;
      const informer = this.#informerFor(spec.plural, version);
      for (const listener of this.#changeListeners) informer.onChange(listener);
      this.#informers.set(spec.kind, informer);
      found.push(informer);
      this.options.log.info({ kind: spec.kind, version: `${GATEWAY_API_GROUP}/${version}` }, 'watching a Gateway API kind');
    }
    return found;
  }

  /** Rechecks every recheckMs until every kind is watched; new informers are started and announced. */
  startRechecking(): void {
    if (this.#stopped || this.#informers.size === GATEWAY_API_KINDS.length) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.discover()
        .then((found) => {
          if (this.#stopped) return;
          for (const informer of found) informer.start();
          if (found.length > 0) this.options.onDiscovered(found);
        })
        .catch((error: unknown) => this.options.log.debug({ err: error }, 'Gateway API discovery failed; trying again later'))
        .finally(() => this.startRechecking());
    }, this.options.recheckMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #informerFor(plural: string, version: string): ResilientInformer<Cached> {
    return new ResilientInformer<Cached>(
      this.kubeConfig,
      {
        name: plural,
        path: `/apis/${GATEWAY_API_GROUP}/${version}/${plural}`,
        list: async (o, page) => (await this.apis.custom.listClusterCustomObject({ group: GATEWAY_API_GROUP, version, plural, ...page }, o)) as KubernetesListObject<KubernetesObject>,
        // Only what the planner reads of Gateways and routes enters the cache (slim.ts).
        slim: (object) => (plural === 'gateways' ? slimGateway(object as GatewayLike) : slimRoute(object as RouteLike)) as Cached,
      },
      this.options,
    );
  }
}

/** The first version whose list answers, and its items; NotFound means not served. Anything else is thrown. */
async function firstServed(apis: KubeApis, plural: string, versions: readonly string[], signal: AbortSignal | undefined, limit?: number): Promise<{ version: string; items: KubernetesObject[] } | undefined> {
  for (const version of versions) {
    try {
      const list = await kubeCall(`list ${plural}.${GATEWAY_API_GROUP}/${version}`, signal, (o) =>
        apis.custom.listClusterCustomObject({ group: GATEWAY_API_GROUP, version, plural, ...(limit === undefined ? {} : { limit }) }, o),
      );
      return { version, items: (list as { items?: KubernetesObject[] }).items ?? [] };
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'NotFound') continue;
      throw error;
    }
  }
  return undefined;
}

async function servedVersion(apis: KubeApis, plural: string, versions: readonly string[], signal: AbortSignal | undefined): Promise<string | undefined> {
  return (await firstServed(apis, plural, versions, signal, 1))?.version;
}

/** Every object of one Gateway API kind, in the first version served (none where it is not), each with its kind. */
export async function listGatewayApiKind(apis: KubeApis, spec: (typeof GATEWAY_API_KINDS)[number], signal: AbortSignal | undefined): Promise<KubernetesObject[]> {
  return withKind(spec.kind, (await firstServed(apis, spec.plural, spec.versions, signal))?.items ?? []);
}

/** A list's items need not carry their kind; the planner tells routes apart by it. */
function withKind<T extends { readonly kind?: string }>(kind: string, items: readonly T[]): T[] {
  return items.map((item) => (item.kind === kind ? item : { ...item, kind }));
}

/** Without --target, routes are not watched: said once at start when there are kinds to serve. */
export async function logIgnoredRoutes(apis: KubeApis, log: Logger): Promise<void> {
  try {
    const served: string[] = [];
    for (const spec of GATEWAY_API_KINDS) {
      if (spec.kind === 'Gateway') continue;
      for (const version of spec.versions) {
        if (!(await apis.kinds.serves(`${GATEWAY_API_GROUP}/${version}`, spec.kind))) continue;
        served.push(spec.kind);
        break;
      }
    }
    if (served.length > 0) log.info({ served }, 'Gateway API routes are ignored: serving them needs a --target (see the README)');
  } catch (error) {
    log.debug({ err: error }, 'could not look for Gateway API routes');
  }
}
