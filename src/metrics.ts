import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What an operator needs to tell a healthy controller from a stuck one. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hairpin_proxy_process_' });
  return {
    registry,
    syncDuration: new Histogram({
      name: 'hairpin_proxy_sync_duration_seconds',
      help: 'Duration of one sync of a key',
      labelNames: ['key', 'result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    lastSuccessfulSync: new Gauge({
      name: 'hairpin_proxy_last_successful_sync_timestamp_seconds',
      help: 'Unix time of the last successful sync of a key',
      labelNames: ['key'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'hairpin_proxy_queue_depth', help: 'Keys waiting in the work queue', registers: [registry] }),
    writes: new Counter({
      name: 'hairpin_proxy_writes_total',
      help: 'Writes made to the cluster or the data plane, by target',
      labelNames: ['target'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'hairpin_proxy_sync_errors_total',
      help: 'Failed syncs, by key and error kind',
      labelNames: ['key', 'kind'] as const,
      registers: [registry],
    }),
    routes: new Gauge({ name: 'hairpin_proxy_routes', help: 'Hosts currently routed to the hairpin proxy', registers: [registry] }),
    haproxyUpdates: new Counter({
      name: 'hairpin_proxy_haproxy_updates_total',
      help: 'HAProxy syncs that changed something: kind="runtime" (no reload) or "reload"',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    skippedHosts: new Gauge({ name: 'hairpin_proxy_skipped_hosts', help: 'Ingress hosts refused as invalid', registers: [registry] }),
    routesDropped: new Gauge({ name: 'hairpin_proxy_routes_dropped', help: 'Routed hosts left out because they do not fit in the DNS ConfigMap (newest claims first)', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
