import { CorefileError } from '../coredns/corefile.js';
import { DataPlaneError, type DataPlaneErrorKind } from '../haproxy/dataplane/errors.js';
import { HostsEntryError, HostsFileError } from '../hostsfile/block.js';
import { KubeError, type KubeErrorKind } from '../kube/errors.js';
import type { RetryClass } from '../queue/index.js';

/**
 * Failures that retrying the same sync cannot fix: they wait for their input to change (a person
 * fixes the Corefile, recreates the ConfigMap, frees space, corrects RBAC or a password). Anything
 * else is transient: the apiserver or a Data Plane API away or busy, a concurrent writer.
 */
const PERMANENT_KUBE: ReadonlySet<KubeErrorKind> = new Set(['NotFound', 'Invalid', 'Forbidden', 'Unauthorized']);
const PERMANENT_DATAPLANE: ReadonlySet<DataPlaneErrorKind> = new Set(['Invalid', 'Unauthorized']);

/** Restarts of a failed informer: quick at first, at most every 30 s. */
export const INFORMER_RESTART = { baseMs: 500, maxMs: 30_000, jitter: 0.2 };
// Transient failures: a short cap, so a recovered apiserver or Data Plane API is picked up within
// seconds. Permanent ones (bad input) use the queue's minutes-long backoff and wake on new input.
export const SYNC_RETRY = { baseMs: 200, maxMs: 5_000, jitter: 0.2 };

/** How the work queue retries a failed sync, decided by the error's kind (like TerminalError). */
export function retryClassOf(error: unknown): RetryClass {
  if (error instanceof CorefileError || error instanceof HostsFileError || error instanceof HostsEntryError) return 'permanent';
  if (error instanceof KubeError) return PERMANENT_KUBE.has(error.kind) ? 'permanent' : 'transient';
  if (error instanceof DataPlaneError) return PERMANENT_DATAPLANE.has(error.kind) ? 'permanent' : 'transient';
  return 'transient';
}
