import { renderCorefile } from '../coredns/corefile.js';
import type { CorednsSink, SinkOutcome } from '../coredns/sink.js';
import { desiredHaproxy, type DesiredHaproxy, type HaproxyPolicy } from '../haproxy/desired.js';
import type { Replica } from '../haproxy/replicas.js';
import type { HaproxyOutcome, HaproxySink } from '../haproxy/sink.js';
import type { EventRecorder } from '../kube/events.js';
import { nextSyncId, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { IngressTarget, Snapshot } from '../model/objects.js';
import { planRoutes, type RoutePlan, type RoutePolicy } from '../plan/routes.js';

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
  readonly haproxy?: HaproxyDeps;
}

/** The hairpin HAProxy side: one key per replica, each synced from the same desired config. */
export interface HaproxyDeps {
  readonly policy: HaproxyPolicy;
  readonly target: () => IngressTarget;
  readonly replicas: () => readonly Replica[];
  /** One sink (and Data Plane API client) per replica, kept across syncs. */
  readonly sinkFor: (replica: Replica) => HaproxySink;
}

export type SyncResult =
  | { readonly syncId: string; readonly key: typeof COREDNS_KEY; readonly plan: RoutePlan; readonly outcome: SinkOutcome }
  | { readonly syncId: string; readonly key: string; readonly desired: DesiredHaproxy; readonly outcome: HaproxyOutcome | { readonly action: 'replica-gone' } };

/** Level-triggered: every sync computes the whole desired state from the caches and applies it. */
export class Controller {
  private readonly succeeded = new Set<string>();

  constructor(private readonly deps: ControllerDeps) {}

  keys(): string[] {
    return [COREDNS_KEY, ...this.haproxyKeys()];
  }

  /** The keys an informer change affects: Ingresses touch DNS, endpoints touch HAProxy. */
  haproxyKeys(): string[] {
    return this.deps.haproxy?.replicas().map((replica) => replica.key) ?? [];
  }

  /**
   * True once the Corefile has been synced: what readiness means. A broken HAProxy replica shows
   * in its own metrics and logs; it must not take the controller itself out of service.
   */
  hasSyncedDns(): boolean {
    return this.succeeded.has(COREDNS_KEY);
  }

  async sync(key: string): Promise<SyncResult> {
    const replica = key === COREDNS_KEY ? undefined : this.deps.haproxy?.replicas().find((r) => r.key === key);
    if (key !== COREDNS_KEY && !this.deps.haproxy) throw new Error(`unknown sync key ${JSON.stringify(key)}`);
    const syncId = nextSyncId();
    const log = this.deps.log.child({ syncId, key });
    const started = performance.now();
    try {
      const result = key === COREDNS_KEY ? await this.syncCoreDns(syncId, log) : await this.syncHaproxy(syncId, key, replica, log);
      const seconds = (performance.now() - started) / 1000;
      this.succeeded.add(key);
      this.deps.metrics?.syncDuration.observe({ key: metricKey(key), result: result.outcome.action }, seconds);
      this.deps.metrics?.lastSuccessfulSync.set({ key: metricKey(key) }, Date.now() / 1000);
      log.info({ outcome: result.outcome.action, ...summary(result), durationMs: Math.round(seconds * 1000) }, 'sync finished');
      return result;
    } catch (error) {
      const kind = (error as { kind?: string }).kind ?? 'Internal';
      this.deps.metrics?.syncDuration.observe({ key: metricKey(key), result: 'error' }, (performance.now() - started) / 1000);
      this.deps.metrics?.errors.inc({ key: metricKey(key), kind });
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
    if (outcome.action === 'updated') this.deps.metrics?.writes.inc({ target: 'coredns' });
    return { syncId, key: COREDNS_KEY, plan, outcome };
  }

  private async syncHaproxy(syncId: string, key: string, replica: Replica | undefined, log: Logger): Promise<SyncResult> {
    const haproxy = this.deps.haproxy as HaproxyDeps;
    const desired = desiredHaproxy(haproxy.target(), haproxy.policy);
    // The pod went away after its key was queued: nothing to configure.
    if (!replica) return { syncId, key, desired, outcome: { action: 'replica-gone' } };
    for (const warning of desired.warnings) log.warn({ replica: replica.url }, warning);
    const outcome = await haproxy.sinkFor(replica).apply(desired, { log, dryRun: this.deps.dryRun });
    if (outcome.writes > 0) this.deps.metrics?.writes.inc({ target: 'haproxy' }, outcome.writes);
    if (outcome.action === 'reload' || outcome.action === 'runtime') this.deps.metrics?.haproxyUpdates.inc({ kind: outcome.action });
    if (outcome.unexpectedReloads > 0) log.warn({ count: outcome.unexpectedReloads }, 'server changes caused a reload; check the HAProxy base configuration');
    return { syncId, key, desired, outcome };
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

/** Metric labels stay bounded: every replica shares one label value. */
function metricKey(key: string): string {
  return key === COREDNS_KEY ? key : 'haproxy';
}

function summary(result: SyncResult): Record<string, unknown> {
  if ('plan' in result) return { routes: result.plan.routes.length, skipped: result.plan.skipped.length };
  const { outcome } = result;
  return 'reasons' in outcome ? { reasons: outcome.reasons, writes: outcome.writes, attempts: outcome.attempts } : {};
}
