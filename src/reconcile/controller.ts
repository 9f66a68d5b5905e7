import { isCancelled } from '../cancel.js';
import { CorefileError, removeHairpinRules } from '../coredns/corefile.js';
import { importsOverrides } from '../coredns/custom.js';
import { roomFor } from '../coredns/fit.js';
import type { CorednsCustomSink } from '../coredns/custom-sink.js';
import type { NodeLocalDnsSink } from '../coredns/nodelocal-sink.js';
import type { CorednsSink, SinkContext, SinkOutcome } from '../coredns/sink.js';
import { desiredHaproxy, type DesiredHaproxy, type HaproxyPolicy } from '../haproxy/desired.js';
import type { DnsEndpointsSink } from '../kube/dns-endpoints.js';
import { KubeError } from '../kube/errors.js';
import type { HairpinServicesSink } from '../kube/hairpin-services.js';
import type { Replica } from '../haproxy/replicas.js';
import type { HaproxyOutcome, HaproxySink } from '../haproxy/sink.js';
import type { EventRecorder } from '../kube/events.js';
import { nextSyncId, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { IngressTarget, ObjectRef, ServiceLike, Snapshot } from '../model/objects.js';
import { planDnsEndpoints } from '../plan/dns-endpoints.js';
import { planRoutes, type PlannedRoute, type RoutePlan, type RoutePolicy } from '../plan/routes.js';
import { resolveUpstreams, upstreamRefs, type NamespacedName, type Upstream } from '../plan/upstreams.js';
import type { SyncPacing } from '../queue/index.js';
import { levelFor, RepeatFilter } from '../repeats.js';
import { DroppedRoutesReport } from './dropped-routes.js';
import { fitCorefile, fitOverride } from './fitted-dns.js';
import { SkippedHostReport } from './skipped-hosts.js';

export const COREDNS_KEY = 'coredns';

/**
 * --write-interval: after a sync wrote DNS, the DNS key waits out the interval before its next
 * sync, so a burst of Ingress changes costs one write per interval (etcd keeps every revision of a
 * ConfigMap that may be hundreds of KB) while the first change after quiet is written at once.
 */
export function dnsWritePacing(writeIntervalMs: number): (result: SyncResult) => SyncPacing | undefined {
  return (result) => (result.key === COREDNS_KEY && result.outcome.action === 'updated' && writeIntervalMs > 0 ? { holdMs: writeIntervalMs } : undefined);
}

export interface ControllerDeps {
  /** Reads the informer caches; called once per sync so that a sync sees one consistent picture. */
  readonly snapshot: () => Snapshot;
  readonly policy: RoutePolicy;
  readonly coredns: CorednsSink;
  /** `corefile`, `custom` (the coredns-custom ConfigMap), `auto` (custom where the Corefile imports *.override), or `external-dns` (DNSEndpoints). */
  readonly dnsMode?: 'corefile' | 'custom' | 'auto' | 'external-dns';
  /** external-dns mode: our DNSEndpoints (elsewhere: removed where there are any). */
  readonly dnsEndpoints?: DnsEndpointsSink;
  /** The Services of the hairpin namespace, for the ClusterIPs the DNSEndpoints carry. */
  readonly hairpinServiceCache?: () => readonly ServiceLike[];
  /** The coredns-custom override: written in custom mode, removed in corefile mode. */
  readonly custom?: CorednsCustomSink;
  /** node-local-dns's Corefile, where the cluster runs it: the hosts forwarded to the cluster DNS. */
  readonly nodeLocal?: NodeLocalDnsSink;
  /** With --target: the per-upstream hairpin Services, written before the Corefile names them. */
  readonly hairpinServices?: HairpinServicesSink;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly dryRun: boolean;
  readonly haproxy?: HaproxyDeps;
}

/** The hairpin HAProxy side: one key per replica, each synced from the same desired config. */
export interface HaproxyDeps {
  readonly policy: HaproxyPolicy;
  /** An upstream's Service and EndpointSlices, from the caches. */
  readonly target: (upstream: NamespacedName) => IngressTarget;
  readonly replicas: () => readonly Replica[];
  /** One sink (and Data Plane API client) per replica, kept across syncs. */
  readonly sinkFor: (replica: Replica) => HaproxySink;
  /** Resolves once every replica's configuration file has caught up with its runtime changes. */
  readonly flush: () => Promise<void>;
  /** The hairpin Service: Events about a replica that is not a discovered pod go here. */
  readonly service: ObjectRef;
}

export type SyncResult =
  | { readonly syncId: string; readonly key: typeof COREDNS_KEY; readonly plan: RoutePlan; readonly outcome: SinkOutcome }
  | { readonly syncId: string; readonly key: string; readonly desired: DesiredHaproxy; readonly outcome: HaproxyOutcome | { readonly action: 'replica-gone' } };

/**
 * Level-triggered: every sync computes the whole desired state from the caches and applies it.
 * Findings are reported when they appear or change, not on every sync: a failure once per streak
 * (and once when it ends), a refused host once, and Events through the aggregating recorder.
 */
export class Controller {
  readonly #failures = new RepeatFilter();
  readonly #skipped: SkippedHostReport;
  readonly #dropped: DroppedRoutesReport;
  /** Per replica key, the warnings about its desired config already logged. */
  readonly #haproxyWarnings = new Map<string, ReadonlySet<string>>();
  /** What node-local-dns said last (reconciled, skipped hosts), so that it is reported when it changes. */
  #nodeLocalReport = '';
  /** Where the rules went last; the other places are cleaned when it changes (and at the first sync). */
  #lastPlace: 'corefile' | 'custom' | undefined;
  /** Upstreams whose ipMode Proxy has been reported: once each, again only after it went away. */
  #ipModeProxy: ReadonlySet<string> = new Set();
  #dnsSynced = false;

  constructor(private readonly deps: ControllerDeps) {
    this.#skipped = new SkippedHostReport(deps.events);
    this.#dropped = new DroppedRoutesReport(deps.events, deps.metrics);
  }

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
    return this.#dnsSynced;
  }

  /**
   * Waits for the HAProxy configuration files to catch up with the runtime changes (they follow
   * each sync once a replica is quiet), so that a process about to exit leaves nothing only at
   * runtime, where a reload by someone else would lose it.
   */
  async flush(): Promise<void> {
    await this.deps.haproxy?.flush();
  }

  /** One sync of key. A signal that aborts cancels it: it then rejects with a Cancelled. */
  async sync(key: string, signal?: AbortSignal): Promise<SyncResult> {
    const replica = key === COREDNS_KEY ? undefined : this.deps.haproxy?.replicas().find((r) => r.key === key);
    if (key !== COREDNS_KEY && !this.deps.haproxy) throw new Error(`unknown sync key ${JSON.stringify(key)}`);
    const syncId = nextSyncId();
    const log = this.deps.log.child({ syncId, key });
    const started = performance.now();
    try {
      const result = key === COREDNS_KEY ? await this.#syncCoreDns(syncId, log, signal) : await this.#syncHaproxy(syncId, key, replica, log, signal);
      const seconds = (performance.now() - started) / 1000;
      if (key === COREDNS_KEY) this.#dnsSynced = true;
      this.deps.metrics?.syncDuration.observe({ key: metricKey(key), result: result.outcome.action }, seconds);
      this.deps.metrics?.lastSuccessfulSync.set({ key: metricKey(key) }, Date.now() / 1000);
      const failures = this.#failures.succeeded(key);
      if (failures > 0) log.info({ failedSyncs: failures }, 'sync recovered');
      log.info({ outcome: result.outcome.action, ...summary(result), durationMs: Math.round(seconds * 1000) }, 'sync finished');
      return result;
    } catch (error) {
      if (isCancelled(error)) {
        log.info({ reason: error.message }, 'sync cancelled');
        throw error;
      }
      const kind = (error as { kind?: string }).kind ?? 'Internal';
      this.deps.metrics?.syncDuration.observe({ key: metricKey(key), result: 'error' }, (performance.now() - started) / 1000);
      this.deps.metrics?.errors.inc({ key: metricKey(key), kind });
      const message = error instanceof Error ? error.message : String(error);
      log[levelFor(this.#failures.failed(key, `${kind}: ${message}`), 'error')]({ err: error, errorKind: kind }, 'sync failed');
      this.#recordFailure(key, replica, error, message);
      throw error;
    }
  }

  async #syncCoreDns(syncId: string, log: Logger, signal: AbortSignal | undefined): Promise<SyncResult> {
    const plan = planRoutes(this.deps.snapshot(), this.deps.policy);
    this.deps.metrics?.routes.set(plan.routes.length);
    this.deps.metrics?.skippedHosts.set(plan.skipped.length);
    this.#skipped.report(plan.skipped, log);
    this.#reportIpModeProxy(plan.upstreams, log);
    const context = { log, dryRun: this.deps.dryRun, ...(signal ? { signal } : {}) };
    if (this.deps.hairpinServices) {
      const services = plan.upstreams.map((u) => ({ name: u.hairpinService, upstream: u.key, ports: u.ports }));
      await this.deps.hairpinServices.apply(services, context);
    }
    const outcome = this.deps.dnsMode === 'external-dns' ? await this.#writeDnsEndpoints(plan, log, context) : await this.#writeDns(plan.routes, context);
    this.#dropped.report(outcome.dropped, outcome, log);
    const dropped = new Set(outcome.dropped.map((route) => route.host));
    await this.#writeNodeLocal(plan.routes.flatMap((route) => (dropped.has(route.host) ? [] : [route.host])), context);
    if (outcome.action === 'updated') {
      this.deps.metrics?.writes.inc({ target: 'coredns' });
      const targets = plan.upstreams.map((upstream) => upstream.target);
      const to = targets.length === 1 ? (targets[0] ?? '') : `${targets.length} hairpin Services`;
      this.deps.events.record(this.deps.coredns.object, 'Normal', 'CorefileUpdated', `hairpin-proxy routes ${plan.routes.length - dropped.size} hosts to ${to} (${outcome.location})`);
    }
    return { syncId, key: COREDNS_KEY, plan, outcome };
  }

  /**
   * The rules go where this cluster's CoreDNS takes them: the Corefile, or the coredns-custom
   * override. What the other places hold of ours is removed after, so that switching modes never
   * leaves a gap: the new rules are in before the old ones go. That cleanup runs when the place
   * changes (a new process counts), and a place this install is not granted (RBAC follows the
   * mode: deploy/components) held nothing of ours.
   */
  async #writeDns(routes: readonly PlannedRoute[], context: SinkContext): Promise<DnsOutcome> {
    const { coredns, custom } = this.deps;
    const mode = this.deps.dnsMode ?? 'corefile';
    // One read both decides auto mode and carries the Corefile edit: the common case is one GET.
    let useCustom = false;
    let dropped: readonly PlannedRoute[] = [];
    const written = await coredns.apply((corefile, configMap) => {
      useCustom = custom !== undefined && (mode === 'custom' || (mode === 'auto' && importsOverrides(corefile)));
      if (useCustom) return corefile;
      const fitted = fitCorefile(corefile, routes, roomFor(configMap.data, coredns.key));
      dropped = fitted.dropped;
      return fitted.text ?? corefile;
    }, context);
    const place = useCustom ? 'custom' : 'corefile';
    const moved = place !== this.#lastPlace;
    if (useCustom && custom) {
      const override = await custom.write((room) => {
        const fitted = fitOverride(routes, room);
        dropped = fitted.dropped;
        return fitted.text;
      }, context);
      const cleaned = await coredns.apply(removeHairpinRules, context);
      this.#lastPlace = place;
      return { ...override, action: combined(override, cleaned), location: custom.location, object: custom.object, dropped };
    }
    const cleaned = custom && moved ? ((await custom.write(undefined, context).catch(ignoreUnreadable)) ?? written) : written;
    if (moved) await this.deps.dnsEndpoints?.apply([], context);
    this.#lastPlace = place;
    return { ...written, action: combined(written, cleaned), location: coredns.location, object: coredns.object, dropped };
  }

  /**
   * Managed clusters that forbid CoreDNS edits: one DNSEndpoint per host for external-dns to
   * publish. What the other modes wrote is removed where it can be read; a CoreDNS ConfigMap that
   * is not there or not ours to read is what this mode is for, not an error.
   */
  async #writeDnsEndpoints(plan: RoutePlan, log: Logger, context: SinkContext): Promise<DnsOutcome> {
    const sink = this.deps.dnsEndpoints as DnsEndpointsSink;
    const { objects, skipped } = planDnsEndpoints(plan, this.deps.hairpinServiceCache?.() ?? [], this.deps.policy.hairpin.namespace);
    for (const { host, reason } of skipped) log.debug({ host, reason }, 'no DNSEndpoint for a host yet');
    const written = await sink.apply(objects, context);
    await this.deps.coredns.apply(removeHairpinRules, context).catch(ignoreUnreadable);
    await this.deps.custom?.write(undefined, context).catch(ignoreUnreadable);
    const diff = `${written.created} created, ${written.updated} updated, ${written.removed} removed`;
    return { action: written.action === 'absent' ? 'unchanged' : written.action, diff, attempts: 1, location: `DNSEndpoints in ${sink.namespace}`, object: this.deps.coredns.object, dropped: [] };
  }

  /** node-local-dns sends only the cluster domain to CoreDNS: our hosts must be forwarded there too. */
  async #writeNodeLocal(hosts: readonly string[], context: SinkContext): Promise<void> {
    const sink = this.deps.nodeLocal;
    if (!sink) return;
    const outcome = await sink.apply(hosts, context);
    const report = outcome.action === 'reconciled' ? 'reconciled' : 'skipped' in outcome ? JSON.stringify(outcome.skipped) : '';
    if (report === this.#nodeLocalReport) return;
    this.#nodeLocalReport = report;
    if (outcome.action === 'reconciled') {
      const message = `${sink.location} is labelled addonmanager.kubernetes.io/mode=Reconcile: the addon manager would revert our block, so hairpin hosts still bypass CoreDNS on nodes using node-local-dns; set the label to EnsureExists, or see the README`;
      context.log.warn(message);
      this.deps.events.record(sink.object, 'Warning', 'NodeLocalDnsReconciled', message);
    } else if ('skipped' in outcome) {
      for (const { host, reason } of outcome.skipped) context.log.warn({ host, reason }, 'node-local-dns: not forwarding a host');
    }
  }

  /** KEP-1860: say once per upstream that its hosts need no hairpin, on its Service. */
  #reportIpModeProxy(upstreams: readonly Upstream[], log: Logger): void {
    if (this.deps.policy.rewriteWhenIpModeProxy) return;
    const now = new Set(upstreams.filter((u) => u.ipModeProxy).map((u) => u.key));
    for (const upstream of upstreams) {
      if (!upstream.ipModeProxy || this.#ipModeProxy.has(upstream.key)) continue;
      const message = `the load balancer of ${upstream.key} reports ipMode Proxy: in-cluster traffic already passes it, so hairpin-proxy does not rewrite its hosts (--rewrite-when-ipmode-proxy to rewrite anyway)`;
      log.info({ upstream: upstream.key }, message);
      this.deps.events.record({ kind: 'Service', apiVersion: 'v1', ...upstream.service }, 'Normal', 'IpModeProxy', message);
    }
    this.#ipModeProxy = now;
  }

  async #syncHaproxy(syncId: string, key: string, replica: Replica | undefined, log: Logger, signal: AbortSignal | undefined): Promise<SyncResult> {
    const haproxy = this.deps.haproxy as HaproxyDeps;
    // Only the upstreams' own Services and slices: a replica's sync never reads the Ingress caches.
    const targets = new Map(upstreamRefs(this.deps.policy.mode).map((ref) => [`${ref.namespace}/${ref.name}`, haproxy.target(ref)]));
    const services = [...targets.values()].flatMap((target) => (target.service ? [target.service] : []));
    const upstreams = resolveUpstreams(this.deps.policy.mode, services, this.deps.policy.hairpin);
    const forwarding = upstreams.map((u) => ({ name: u.haproxyName, proxyProtocol: u.proxyProtocol, ports: u.ports, target: targets.get(u.key) ?? haproxy.target(u.service) }));
    const built = desiredHaproxy(forwarding, haproxy.policy);
    const desired = { ...built, warnings: [...upstreams.flatMap((u) => u.warnings.map((w) => `${u.key}: ${w}`)), ...built.warnings] };
    // The pod went away after its key was queued: nothing to configure, nothing to remember.
    if (!replica) {
      this.#failures.succeeded(key);
      this.#haproxyWarnings.delete(key);
      return { syncId, key, desired, outcome: { action: 'replica-gone' } };
    }
    const known = this.#haproxyWarnings.get(key);
    for (const warning of desired.warnings) if (!known?.has(warning)) log.warn({ replica: replica.url }, warning);
    this.#haproxyWarnings.set(key, new Set(desired.warnings));
    const outcome = await haproxy.sinkFor(replica).apply(desired, { log, dryRun: this.deps.dryRun, ...(signal ? { signal } : {}) });
    if (outcome.writes > 0) this.deps.metrics?.writes.inc({ target: 'haproxy' }, outcome.writes);
    if (outcome.action === 'reload' || outcome.action === 'runtime') this.deps.metrics?.haproxyUpdates.inc({ kind: outcome.action });
    if (outcome.unexpectedReloads > 0) log.warn({ count: outcome.unexpectedReloads }, 'server changes caused a reload; check the HAProxy base configuration');
    return { syncId, key, desired, outcome };
  }

  /** One Warning Event per failing (object, reason); the recorder folds repeats into its count. */
  #recordFailure(key: string, replica: Replica | undefined, error: unknown, message: string): void {
    if (key === COREDNS_KEY) {
      const reason = error instanceof CorefileError ? 'InvalidCorefile' : 'CorefileSyncFailed';
      this.deps.events.record(this.deps.coredns.object, 'Warning', reason, `hairpin-proxy cannot update ${this.deps.coredns.location}: ${message}`);
    } else if (replica && this.deps.haproxy) {
      this.deps.events.record(replica.pod ?? this.deps.haproxy.service, 'Warning', 'HaproxySyncFailed', `hairpin-proxy cannot configure HAProxy at ${replica.url}: ${message}`);
    }
  }
}

/** Where a sync wrote DNS, and the routes that did not fit there (external-dns has no limit). */
type DnsOutcome = SinkOutcome & { readonly location: string; readonly object: ObjectRef; readonly dropped: readonly PlannedRoute[] };

function ignoreUnreadable(error: unknown): undefined {
  if (error instanceof KubeError && (error.kind === 'NotFound' || error.kind === 'Forbidden')) return undefined;
  throw error;
}

function combined(main: SinkOutcome, cleanup: SinkOutcome): SinkOutcome['action'] {
  return main.action === 'unchanged' && cleanup.action !== 'unchanged' ? cleanup.action : main.action;
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
