import type { GatewayLike, IngressClassLike, IngressLike, ListenerLike, ParentRefLike, RouteLike, ServiceLike } from '../model/objects.js';
import { DEFAULT_CLASS_ANNOTATION, LEGACY_CLASS_ANNOTATION } from '../sources/ingress.js';

export interface IngressShape {
  namespace?: string;
  hosts?: string[];
  tlsHosts?: string[];
  className?: string;
  legacyClass?: string;
  annotations?: Record<string, string>;
}

export function anIngress(name: string, shape: IngressShape = {}): IngressLike {
  return {
    kind: 'Ingress',
    metadata: {
      name,
      namespace: shape.namespace ?? 'default',
      uid: `uid-${shape.namespace ?? 'default'}-${name}`,
      ...(shape.legacyClass || shape.annotations ? { annotations: { ...shape.annotations, ...(shape.legacyClass ? { [LEGACY_CLASS_ANNOTATION]: shape.legacyClass } : {}) } } : {}),
    },
    spec: {
      ...(shape.className ? { ingressClassName: shape.className } : {}),
      rules: (shape.hosts ?? []).map((host) => ({ host })),
      ...(shape.tlsHosts ? { tls: [{ hosts: shape.tlsHosts }] } : {}),
    },
  };
}

export function anIngressClass(name: string, { isDefault = false } = {}): IngressClassLike {
  return {
    kind: 'IngressClass',
    metadata: { name, ...(isDefault ? { annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } } : {}) },
  };
}

// Gateway API builders.

export interface ListenerShape {
  hostname?: string;
  port?: number;
  protocol?: string;
  /** allowedRoutes.namespaces.from; absent means the spec's default, Same. */
  from?: string;
}

/** A listener; HTTP on port 80 unless told otherwise. */
export function aListener(name: string, shape: ListenerShape = {}): ListenerLike {
  return {
    name,
    port: shape.port ?? 80,
    protocol: shape.protocol ?? 'HTTP',
    ...(shape.hostname !== undefined ? { hostname: shape.hostname } : {}),
    ...(shape.from !== undefined ? { allowedRoutes: { namespaces: { from: shape.from } } } : {}),
  };
}

export interface GatewayShape {
  namespace?: string;
  className?: string;
  /** One plain HTTP listener, `http` on port 80, unless given. */
  listeners?: ListenerLike[];
}

export function aGateway(name: string, shape: GatewayShape = {}): GatewayLike {
  return {
    kind: 'Gateway',
    metadata: { name, namespace: shape.namespace ?? 'default', uid: `uid-${shape.namespace ?? 'default'}-${name}` },
    spec: {
      ...(shape.className !== undefined ? { gatewayClassName: shape.className } : {}),
      listeners: shape.listeners ?? [aListener('http')],
    },
  };
}

/** One entry of a route's status.parents: the parent and its Accepted condition ('True' unless told). */
export interface RouteParentShape {
  ref: ParentRefLike;
  accepted?: string;
}

export interface RouteShape {
  namespace?: string;
  /** HTTPRoute unless told. */
  kind?: string;
  hostnames?: string[];
  /** status.parents; each takes its ref as written. */
  parents?: RouteParentShape[];
  /** spec.parentRefs; the refs of `parents` unless given. */
  parentRefs?: ParentRefLike[];
  annotations?: Record<string, string>;
}

export function aRoute(name: string, shape: RouteShape = {}): RouteLike {
  const parents = shape.parents ?? [];
  return {
    kind: shape.kind ?? 'HTTPRoute',
    apiVersion: 'gateway.networking.k8s.io/v1',
    metadata: { name, namespace: shape.namespace ?? 'default', uid: `uid-${shape.namespace ?? 'default'}-${name}`, ...(shape.annotations ? { annotations: shape.annotations } : {}) },
    spec: {
      ...(shape.hostnames !== undefined ? { hostnames: shape.hostnames } : {}),
      parentRefs: shape.parentRefs ?? parents.map((parent) => parent.ref),
    },
    status: {
      parents: parents.map((parent) => ({
        parentRef: parent.ref,
        conditions: [{ type: 'Accepted', status: parent.accepted ?? 'True' }],
      })),
    },
  };
}

export interface ServiceShape {
  annotations?: Record<string, string>;
  /** status.loadBalancer.ingress[].ipMode, one address each. */
  ipModes?: string[];
}

/** An upstream's LoadBalancer Service `namespace/name`. */
export function aService(ref: string, shape: ServiceShape = {}): ServiceLike {
  const [namespace = '', name = ''] = ref.split('/');
  return {
    kind: 'Service',
    metadata: { name, namespace, ...(shape.annotations ? { annotations: shape.annotations } : {}) },
    spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    status: { loadBalancer: { ingress: (shape.ipModes ?? []).map((ipMode, i) => ({ ip: `203.0.113.${10 + i}`, ipMode })) } },
  };
}
