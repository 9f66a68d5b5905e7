import type { IngressClassLike, IngressLike } from '../model/objects.js';
import { DEFAULT_CLASS_ANNOTATION, LEGACY_CLASS_ANNOTATION } from '../sources/ingress.js';

export interface IngressShape {
  namespace?: string;
  hosts?: string[];
  tlsHosts?: string[];
  className?: string;
  legacyClass?: string;
}

export function anIngress(name: string, shape: IngressShape = {}): IngressLike {
  return {
    kind: 'Ingress',
    metadata: {
      name,
      namespace: shape.namespace ?? 'default',
      uid: `uid-${shape.namespace ?? 'default'}-${name}`,
      ...(shape.legacyClass ? { annotations: { [LEGACY_CLASS_ANNOTATION]: shape.legacyClass } } : {}),
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
