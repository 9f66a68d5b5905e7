import type { EndpointSliceLike } from '../model/objects.js';

/** One hairpin HAProxy pod's Data Plane API, and the work-queue key that syncs it. */
export interface Replica {
  readonly key: string;
  readonly url: string;
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
 * until its HAProxy is configured, and configuring it is our job.
 */
export function discoveredReplicas(slices: readonly EndpointSliceLike[], fallbackPort: number): Replica[] {
  const urls = new Set<string>();
  for (const slice of slices) {
    const port = slice.ports?.find((p) => p.name === DATAPLANE_PORT_NAME)?.port ?? fallbackPort;
    for (const endpoint of slice.endpoints ?? []) {
      for (const address of endpoint.addresses ?? []) {
        urls.add(`http://${address.includes(':') ? `[${address}]` : address}:${port}/v3`);
      }
    }
  }
  return fixedReplicas([...urls]);
}
