import type { EndpointSliceLike, ObjectRef } from '../model/objects.js';

/** One hairpin HAProxy pod's Data Plane API, and the work-queue key that syncs it. */
export interface Replica {
  readonly key: string;
  readonly url: string;
  /** Its pod, when discovered: what Events about this replica are about. */
  readonly pod?: ObjectRef;
}

export const HAPROXY_KEY_PREFIX = 'haproxy/';

/** The EndpointSlice port that carries the Data Plane API, when the Service names one. */
export const DATAPLANE_PORT_NAME = 'dataplane';

/** Fixed URLs (`--dataplane-url`), one key each. */
export function fixedReplicas(urls: readonly string[]): Replica[] {
  return [...new Set(urls)].sort().map((url) => ({ key: `${HAPROXY_KEY_PREFIX}${url}`, url }));
}

/**
 * Every address behind the hairpin HAProxy Service is one replica, each with its own key so a
 * slow or broken pod never delays the others. Not-ready pods are included: a pod is not ready
 * until its HAProxy is configured, and configuring it is our job. They come first, so a new pod
 * (say, mid-rollout, with the rollout waiting on it) is configured before the serving ones.
 */
export function discoveredReplicas(slices: readonly EndpointSliceLike[], fallbackPort: number): Replica[] {
  const pods = new Map<string, { pod: ObjectRef | undefined; ready: boolean }>();
  for (const slice of slices) {
    const port = slice.ports?.find((p) => p.name === DATAPLANE_PORT_NAME)?.port ?? fallbackPort;
    for (const endpoint of slice.endpoints ?? []) {
      const pod = podOf(endpoint.targetRef);
      // As EndpointSlice consumers must: an unknown readiness counts as ready.
      const ready = endpoint.conditions?.ready !== false;
      for (const address of endpoint.addresses ?? []) {
        pods.set(`http://${address.includes(':') ? `[${address}]` : address}:${port}/v3`, { pod, ready });
      }
    }
  }
  const notReadyFirst = (replica: Replica) => (pods.get(replica.url)?.ready ? 1 : 0);
  return fixedReplicas([...pods.keys()])
    .sort((a, b) => notReadyFirst(a) - notReadyFirst(b))
    .map((replica) => {
      const pod = pods.get(replica.url)?.pod;
      return pod ? { ...replica, pod } : replica;
    });
}

function podOf(ref: NonNullable<EndpointSliceLike['endpoints']>[number]['targetRef']): ObjectRef | undefined {
  if (ref?.kind !== 'Pod' || !ref.name || !ref.namespace) return undefined;
  return { kind: 'Pod', apiVersion: 'v1', namespace: ref.namespace, name: ref.name, ...(ref.uid ? { uid: ref.uid } : {}) };
}
