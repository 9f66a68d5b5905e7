/**
 * What enters the informer caches: of each object, only the fields something reads (the planners,
 * the HAProxy and hosts-file sinks, Events), copied into a fresh plain object, as client-go's cache
 * transform functions do. managedFields, `kubectl.kubernetes.io/last-applied-configuration` (a
 * second copy of the whole object), Ingress paths and backends, route rules and every status
 * field nobody reads are dropped before the object is stored, so the cache costs a small fraction
 * of what the apiserver sends. Keep this file in step with src/model/objects.ts: a field read
 * through those types but not copied here would read as absent.
 *
 * Objects reach this from two places: typed lists (client-node models, creationTimestamp a Date)
 * and watch events (plain JSON, creationTimestamp a string); both leave as the same plain shape.
 */
import { creationTimestampOf, type EndpointSliceLike, type GatewayLike, type IngressClassLike, type IngressLike, type ObjectMeta, type ParentRefLike, type RouteLike, type ServiceLike } from '../model/objects.js';

/** The client-side copy of the whole object that `kubectl apply` keeps: never read, often the largest field. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** What any object from a list or a watch may carry in its metadata (more than ObjectMeta says). */
interface AnyMeta extends ObjectMeta {
  readonly labels?: Readonly<Record<string, string>>;
  readonly managedFields?: unknown;
}

/** An object as it arrives: any of the shapes below, or something else entirely (a Gateway API kind). */
export interface Arriving {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly metadata?: AnyMeta;
}

export function slimIngress(object: IngressLike): IngressLike {
  const spec = object.spec;
  return {
    metadata: slimMeta(object.metadata),
    ...(spec && {
      spec: {
        ...defined('ingressClassName', spec.ingressClassName),
        ...(spec.rules && { rules: spec.rules.map((rule) => ({ ...defined('host', rule.host) })) }),
        ...(spec.tls && { tls: spec.tls.map((tls) => ({ ...(tls.hosts && { hosts: [...tls.hosts] }) })) }),
      },
    }),
  };
}

export function slimIngressClass(object: IngressClassLike): IngressClassLike {
  return { metadata: slimMeta(object.metadata) };
}

export function slimService(object: ServiceLike): ServiceLike {
  const { spec, status } = object;
  const ingress = status?.loadBalancer?.ingress;
  return {
    metadata: slimMeta(object.metadata, { labels: true }),
    ...(spec && {
      spec: {
        ...defined('type', spec.type),
        ...defined('clusterIP', spec.clusterIP),
        ...(spec.clusterIPs && { clusterIPs: [...spec.clusterIPs] }),
        ...(spec.selector && { selector: { ...spec.selector } }),
        ...(spec.ports && {
          ports: spec.ports.map((p) => ({ ...defined('name', p.name), ...defined('port', p.port), ...defined('protocol', p.protocol), ...defined('targetPort', p.targetPort) })),
        }),
      },
    }),
    ...(ingress && {
      status: { loadBalancer: { ingress: ingress.map((i) => ({ ...defined('ip', i.ip), ...defined('hostname', i.hostname), ...defined('ipMode', i.ipMode) })) } },
    }),
  };
}

export function slimEndpointSlice(object: EndpointSliceLike): EndpointSliceLike {
  return {
    metadata: slimMeta(object.metadata, { labels: true }),
    ...defined('addressType', object.addressType),
    ...(object.endpoints && {
      endpoints: object.endpoints.map((e) => ({
        ...(e.addresses && { addresses: [...e.addresses] }),
        ...(e.conditions && { conditions: { ...defined('ready', e.conditions.ready) } }),
        ...(e.targetRef && {
          targetRef: { ...defined('kind', e.targetRef.kind), ...defined('namespace', e.targetRef.namespace), ...defined('name', e.targetRef.name), ...defined('uid', e.targetRef.uid) },
        }),
      })),
    }),
    ...(object.ports && { ports: object.ports.map((p) => ({ ...defined('name', p.name), ...defined('port', p.port), ...defined('protocol', p.protocol) })) }),
  };
}

/** A watch that only says "look again" (the CoreDNS ConfigMap, read by its sink): identity and version only. */
export function slimToMeta(object: Arriving): Arriving {
  return { metadata: slimMeta(object.metadata) };
}

/**
 * The CoreDNS ConfigMap as its sink reads it (metadata, labels, data): one object, kept whole so
 * that a sync's first attempt needs no GET of a Corefile that may be hundreds of KB.
 */
export function slimConfigMap(object: Arriving & { readonly data?: Readonly<Record<string, string>> }): Arriving {
  return { metadata: slimMeta(object.metadata, { labels: true }), ...(object.data && { data: { ...object.data } }) };
}

export function slimGateway(object: GatewayLike): GatewayLike {
  const spec = object.spec;
  return {
    ...defined('kind', object.kind),
    metadata: slimMeta(object.metadata),
    ...(spec && {
      spec: {
        ...defined('gatewayClassName', spec.gatewayClassName),
        ...(spec.listeners && {
          listeners: spec.listeners.map((l) => {
            const from = l.allowedRoutes?.namespaces?.from;
            return {
              ...defined('name', l.name),
              ...defined('hostname', l.hostname),
              ...defined('port', l.port),
              ...defined('protocol', l.protocol),
              ...(from !== undefined && { allowedRoutes: { namespaces: { from } } }),
            };
          }),
        }),
      },
    }),
  };
}

export function slimRoute(object: RouteLike): RouteLike {
  const { spec, status } = object;
  return {
    ...defined('kind', object.kind),
    ...defined('apiVersion', object.apiVersion),
    metadata: slimMeta(object.metadata),
    ...(spec && {
      spec: {
        ...(spec.hostnames && { hostnames: [...spec.hostnames] }),
        ...(spec.parentRefs && { parentRefs: spec.parentRefs.map(slimParentRef) }),
      },
    }),
    ...(status?.parents && {
      status: {
        parents: status.parents.map((p) => ({
          ...(p.parentRef && { parentRef: slimParentRef(p.parentRef) }),
          ...(p.conditions && { conditions: p.conditions.map((c) => ({ ...defined('type', c.type), ...defined('status', c.status) })) }),
        })),
      },
    }),
  };
}

/**
 * For kinds without a slim of their own: the object as it came, less managedFields and the
 * last-applied copy (the parts no reader of any kind wants).
 */
export function stripMetadata<T extends Arriving>(object: T): T {
  return object.metadata === undefined ? object : { ...object, metadata: slimMeta(object.metadata, { labels: true }) };
}

function slimParentRef(ref: ParentRefLike): ParentRefLike {
  return {
    ...defined('group', ref.group),
    ...defined('kind', ref.kind),
    ...defined('namespace', ref.namespace),
    ...defined('name', ref.name),
    ...defined('sectionName', ref.sectionName),
    ...defined('port', ref.port),
  };
}

/**
 * Identity (name, namespace, uid), version (resourceVersion: the cache tells updates apart by
 * it), age (creationTimestamp, as the apiserver writes it: RFC 3339 in UTC to the second, so that
 * two compare as strings in time order) and the annotations, less the last-applied copy; labels
 * only where asked.
 */
function slimMeta(meta: AnyMeta | undefined, options: { labels?: boolean } = {}): AnyMeta {
  if (meta === undefined) return {};
  return {
    ...defined('name', meta.name),
    ...defined('namespace', meta.namespace),
    ...defined('uid', meta.uid),
    ...defined('resourceVersion', meta.resourceVersion),
    ...defined('creationTimestamp', creationTimestampOf(meta)),
    ...(meta.annotations && { annotations: withoutLastApplied(meta.annotations) }),
    ...(options.labels && meta.labels && { labels: { ...meta.labels } }),
  };
}

function withoutLastApplied(annotations: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations).filter(([key]) => key !== LAST_APPLIED_ANNOTATION));
}


/** `{ key: value }` when value is defined, else nothing: absent fields stay absent. */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
