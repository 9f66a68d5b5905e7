/**
 * The few fields of Kubernetes objects that the planner reads. Structural, so that informer caches
 * (@kubernetes/client-node models) and plain YAML from `kubectl get -o yaml` both fit.
 */
export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly annotations?: Readonly<Record<string, string>>;
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

export function objectKey(kind: string, meta: ObjectMeta | undefined): string {
  return meta?.namespace ? `${kind}/${meta.namespace}/${meta.name ?? ''}` : `${kind}/${meta?.name ?? ''}`;
}
