import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';
import type { ObjectRef } from '../model/objects.js';
import type { SkipKind, SkippedHost } from '../plan/routes.js';

/** What the object's owner should hear: a Warning for what they must fix, a log line for choices. */
const REPORTS: Readonly<Record<SkipKind, { readonly level: 'warn' | 'info'; readonly message: string; readonly eventReason?: string }>> = {
  invalid: { level: 'warn', message: 'skipping an invalid host', eventReason: 'InvalidHost' },
  conflict: { level: 'warn', message: 'skipping a host claimed by two upstreams', eventReason: 'HostConflict' },
  unmapped: { level: 'info', message: 'skipping a host no --target serves' },
  'opted-out': { level: 'info', message: 'skipping an opted-out host' },
  'ipmode-proxy': { level: 'info', message: 'skipping a host whose load balancer reports ipMode Proxy' },
};

/** `ingress/ns/name`, `httproute/ns/name`, …: the sources the planner names, as Event objects. */
const SOURCE_KINDS: Readonly<Record<string, { readonly kind: string; readonly apiVersion: string }>> = {
  ingress: { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1' },
  httproute: { kind: 'HTTPRoute', apiVersion: 'gateway.networking.k8s.io/v1' },
  grpcroute: { kind: 'GRPCRoute', apiVersion: 'gateway.networking.k8s.io/v1' },
  tlsroute: { kind: 'TLSRoute', apiVersion: 'gateway.networking.k8s.io/v1' },
};

/**
 * Skipped hosts, reported when they appear or change rather than on every sync: a line for each
 * new one, and, for the kinds an owner must fix, one Warning Event per object and reason listing
 * all of its hosts of that kind.
 */
export class SkippedHostReport {
  /** `source|kind|host|reason` of every skip already reported. */
  #reported = new Set<string>();

  constructor(private readonly events: EventRecorder) {}

  report(skipped: readonly SkippedHost[], log: Logger): void {
    const current = new Set(skipped.map(identity));
    const changed = new Set<string>();
    for (const host of skipped) {
      if (this.#reported.has(identity(host))) continue;
      changed.add(`${host.source}|${host.kind}`);
      const report = REPORTS[host.kind];
      log[report.level]({ host: host.host, reason: host.reason, source: host.source }, report.message);
    }
    // A source that still has skipped hosts of a kind, but fewer, gets an Event that lists the rest.
    for (const gone of this.#reported) if (!current.has(gone)) changed.add(gone.split('|').slice(0, 2).join('|'));
    this.#reported = current;
    for (const key of changed) {
      const [source = '', kind = ''] = key.split('|');
      const reason = REPORTS[kind as SkipKind].eventReason;
      const hosts = skipped.filter((host) => host.source === source && host.kind === kind);
      if (reason) this.#recordEvent(source, reason, hosts);
    }
  }

  #recordEvent(source: string, reason: string, hosts: readonly SkippedHost[]): void {
    const [kind = '', namespace = '', name = ''] = source.split('/');
    const object: ObjectRef = { ...(SOURCE_KINDS[kind] ?? { kind, apiVersion: 'v1' }), namespace, name };
    const listed = hosts.map((host) => `${JSON.stringify(host.host)} (${host.reason})`).join('; ');
    const message = hosts.length === 1 ? `hairpin-proxy will not route host ${listed}` : `hairpin-proxy will not route ${hosts.length} hosts: ${listed}`;
    this.events.record(object, 'Warning', reason, message);
  }
}

function identity(host: SkippedHost): string {
  return `${host.source}|${host.kind}|${host.host}|${host.reason}`;
}
