import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ObjectRef } from '../model/objects.js';
import type { PlannedRoute } from '../plan/routes.js';

/** Hosts named in one log line or Event; the count says how many more there are. */
const NAMED = 20;

/**
 * Routes that did not fit in the DNS ConfigMap: the gauge on every sync, and a Warning Event and a
 * log line when the set changes (it appears, grows, shrinks or clears), not on every sync.
 */
export class DroppedRoutesReport {
  #reported = '';

  constructor(
    private readonly events: EventRecorder,
    private readonly metrics: Metrics | undefined,
  ) {}

  report(dropped: readonly PlannedRoute[], where: { readonly object: ObjectRef; readonly location: string }, log: Logger): void {
    this.metrics?.routesDropped.set(dropped.length);
    const hosts = dropped.map((route) => route.host);
    const identity = hosts.join(' ');
    if (identity === this.#reported) return;
    const before = this.#reported;
    this.#reported = identity;
    if (hosts.length === 0) {
      if (before !== '') log.info({ location: where.location }, 'every route fits again');
      return;
    }
    const named = hosts.slice(0, NAMED).join(', ') + (hosts.length > NAMED ? ` and ${hosts.length - NAMED} more` : '');
    const message = `${hosts.length} host(s) do not fit in ${where.location} under the 1 MiB ConfigMap limit and are not routed: ${named}. The oldest claims keep their routes; remove hosts, or use --coredns-mode external-dns, which has no such limit`;
    log.warn({ dropped: hosts.length, hosts: hosts.slice(0, NAMED), location: where.location }, `routes dropped: ${hosts.length} do not fit in the ConfigMap`);
    this.events.record(where.object, 'Warning', 'RoutesDropped', message);
  }
}
