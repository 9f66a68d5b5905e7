import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ObjectRef } from '../model/objects.js';
import type { PlannedRoute } from '../plan/routes.js';
import { describeDropped, DROPPED_FIX, NAMED_DROPPED } from './fitted-dns.js';

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
    const message = `${describeDropped(dropped, where.location)}. The oldest claims keep their routes; ${DROPPED_FIX}`;
    log.warn({ dropped: hosts.length, hosts: hosts.slice(0, NAMED_DROPPED), location: where.location }, `routes dropped: ${hosts.length} do not fit in the ConfigMap`);
    this.events.record(where.object, 'Warning', 'RoutesDropped', message);
  }
}
