/**
 * The few fields of Kubernetes objects that the planners read. Structural, so that informer caches
 * (@kubernetes/client-node models) and plain YAML from `kubectl get -o yaml` both fit. Every layer
 * may import this module; it imports nothing.
 */
export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  /**
   * A string in the informer caches (RFC 3339 in UTC to the second, as the apiserver writes it,
   * so that two compare as strings in time order: kube/slim.ts makes it so); a Date where a
   * client-node typed call returned the object (doctor's lists); absent in hand-written YAML.
   */
  readonly creationTimestamp?: string | Date;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * An object's creationTimestamp as the apiserver writes it (2024-05-01T10:00:00Z), whichever form
 * it arrived in (client-node's models turn it into a Date); undefined when absent or not a time.
 */
export function creationTimestampOf(meta: Pick<ObjectMeta, 'creationTimestamp'> | undefined): string | undefined {
  const created = meta?.creationTimestamp;
  if (!(created instanceof Date)) return created;
  return Number.isNaN(created.getTime()) ? undefined : created.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface IngressLike {
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
  readonly spec?: {
    readonly ingressClassName?: string;
    readonly rules?: ReadonlyArray<{ readonly host?: string }>;
    readonly tls?: ReadonlyArray<{ readonly hosts?: readonly string[] }>;
  };
}

export interface IngressClassLike {
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
}

/** The fields of a Service the hairpin HAProxy is built from, and the load balancer's ipMode. */
export interface ServiceLike {
  readonly kind?: string;
  readonly metadata?: ObjectMeta & { readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    /** Both families' addresses on a dual-stack Service (clusterIP is the first). */
    readonly clusterIPs?: readonly string[];
    readonly selector?: Readonly<Record<string, string>>;
    readonly ports?: ReadonlyArray<{ readonly name?: string; readonly port?: number; readonly protocol?: string; readonly targetPort?: number | string }>;
  };
  readonly status?: {
    readonly loadBalancer?: { readonly ingress?: ReadonlyArray<{ readonly ip?: string; readonly hostname?: string; readonly ipMode?: string }> };
  };
}

export interface ListenerLike {
  readonly name?: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly allowedRoutes?: { readonly namespaces?: { readonly from?: string } };
}

export interface GatewayLike {
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
  readonly spec?: { readonly gatewayClassName?: string; readonly listeners?: readonly ListenerLike[] };
}

export interface ParentRefLike {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly sectionName?: string;
  readonly port?: number;
}

/** The Gateway API route kinds whose hostnames hairpin-proxy serves. */
export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';

export interface RouteLike {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly metadata?: ObjectMeta;
  readonly spec?: { readonly hostnames?: readonly string[]; readonly parentRefs?: readonly ParentRefLike[] };
  readonly status?: {
    readonly parents?: ReadonlyArray<{
      readonly parentRef?: ParentRefLike;
      readonly conditions?: ReadonlyArray<{ readonly type?: string; readonly status?: string }>;
    }>;
  };
}

export interface EndpointSliceLike {
  readonly metadata?: ObjectMeta & { readonly labels?: Readonly<Record<string, string>> };
  readonly addressType?: string;
  readonly endpoints?: ReadonlyArray<{
    readonly addresses?: readonly string[];
    readonly conditions?: { readonly ready?: boolean };
    readonly targetRef?: { readonly kind?: string; readonly namespace?: string; readonly name?: string; readonly uid?: string };
  }>;
  readonly ports?: ReadonlyArray<{ readonly name?: string; readonly port?: number; readonly protocol?: string }>;
}

/** What the informer caches hold for the route planner, read once per sync. */
export interface Snapshot {
  readonly ingresses: readonly IngressLike[];
  readonly ingressClasses: readonly IngressClassLike[];
  /** Empty where the Gateway API CRDs are not installed (or routes are not served). */
  readonly gateways?: readonly GatewayLike[];
  /** HTTPRoutes, GRPCRoutes and TLSRoutes, each with its kind set. */
  readonly routes?: readonly RouteLike[];
  /** The upstream Services, for their load balancer's ipMode. */
  readonly services?: readonly ServiceLike[];
}

/** The ingress controller's Service and its EndpointSlices: what the hairpin HAProxy forwards to. */
export interface IngressTarget {
  readonly service: ServiceLike | undefined;
  readonly slices: readonly EndpointSliceLike[];
}

/** A Kubernetes object an Event is about. */
export interface ObjectRef {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export function objectKey(kind: string, meta: ObjectMeta | undefined): string {
  return meta?.namespace ? `${kind}/${meta.namespace}/${meta.name ?? ''}` : `${kind}/${meta?.name ?? ''}`;
}
