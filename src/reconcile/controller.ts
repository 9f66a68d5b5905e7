import { renderCorefile } from '../coredns/corefile.js';
import type { CorednsSink, SinkOutcome } from '../coredns/sink.js';
import type { EventRecorder } from '../kube/events.js';
import { nextSyncId, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { planRoutes, type RoutePlan, type RoutePolicy, type Snapshot } from '../plan/routes.js';

export const COREDNS_KEY = 'coredns';

export interface ControllerDeps {
  /** Reads the informer caches; called once per sync so that a sync sees one consistent picture. */
  readonly snapshot: () => Snapshot;
  readonly policy: RoutePolicy;
  readonly coredns: CorednsSink;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly dryRun: boolean;
}

export interface SyncResult {
  readonly syncId: string;
  readonly plan: RoutePlan;
  readonly outcome: SinkOutcome;
}

/** Level-triggered: every sync computes the whole desired state from the caches and applies it. */
export class Controller {
  private readonly succeeded = new Set<string>();

  constructor(private readonly deps: ControllerDeps) {}

  keys(): string[] {
    return [COREDNS_KEY];
  }

  /** True once every key has synced successfully at least once. */
  hasSyncedAll(): boolean {
    return this.keys().every((key) => this.succeeded.has(key));
  }

  async sync(key: string): Promise<SyncResult> {
    if (key !== COREDNS_KEY) throw new Error(`unknown sync key ${JSON.stringify(key)}`);
    const syncId = nextSyncId();
    const log = this.deps.log.child({ syncId, key });
    const started = performance.now();
    try {
      const result = await this.syncCoreDns(syncId, log);
      const seconds = (performance.now() - started) / 1000;
      this.succeeded.add(key);
      this.deps.metrics?.syncDuration.observe({ key, result: result.outcome.action }, seconds);
      this.deps.metrics?.lastSuccessfulSync.set({ key }, Date.now() / 1000);
      if (result.outcome.action === 'updated') this.deps.metrics?.writes.inc({ target: 'coredns' });
      log.info({ outcome: result.outcome.action, routes: result.plan.routes.length, skipped: result.plan.skipped.length, durationMs: Math.round(seconds * 1000) }, 'sync finished');
      return result;
    } catch (error) {
      const kind = (error as { kind?: string }).kind ?? 'Internal';
      this.deps.metrics?.syncDuration.observe({ key, result: 'error' }, (performance.now() - started) / 1000);
      this.deps.metrics?.errors.inc({ key, kind });
      log.error({ err: error, errorKind: kind }, 'sync failed');
      throw error;
    }
  }

  private async syncCoreDns(syncId: string, log: Logger): Promise<SyncResult> {
    const plan = planRoutes(this.deps.snapshot(), this.deps.policy);
    this.deps.metrics?.routes.set(plan.routes.length);
    this.deps.metrics?.skippedHosts.set(plan.skipped.length);
    await this.reportSkipped(plan, log);
    const routes = plan.routes.map(({ host, target }) => ({ host, target }));
    const outcome = await this.deps.coredns.apply((corefile) => renderCorefile(corefile, routes), { log, dryRun: this.deps.dryRun });
    return { syncId, plan, outcome };
  }

  private async reportSkipped(plan: RoutePlan, log: Logger): Promise<void> {
    for (const skipped of plan.skipped) {
      log.warn({ host: skipped.host, reason: skipped.reason, source: skipped.source }, 'skipping an invalid Ingress host');
      const [, namespace = '', name = ''] = skipped.source.split('/');
      await this.deps.events.record(
        { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', namespace, name },
        'Warning',
        'InvalidHost',
        `hairpin-proxy will not route host ${JSON.stringify(skipped.host)}: ${skipped.reason}`,
      );
    }
  }
}
