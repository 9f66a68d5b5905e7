import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';
import type { SkippedHost } from '../plan/routes.js';

/**
 * Refused hosts, reported when they appear or change rather than on every sync: a warning line
 * for each new refusal, and one Warning Event per Ingress listing all of its refused hosts.
 */
export class SkippedHostReport {
  /** `source|host|reason` of every refusal already reported. */
  #reported = new Set<string>();

  constructor(private readonly events: EventRecorder) {}

  report(skipped: readonly SkippedHost[], log: Logger): void {
    const current = new Set(skipped.map(identity));
    const changedSources = new Set<string>();
    for (const host of skipped) {
      if (this.#reported.has(identity(host))) continue;
      changedSources.add(host.source);
      log.warn({ host: host.host, reason: host.reason, source: host.source }, 'skipping an invalid Ingress host');
    }
    for (const gone of this.#reported) if (!current.has(gone)) changedSources.add(gone.split('|')[0] ?? '');
    this.#reported = current;
    for (const source of changedSources) {
      const hosts = skipped.filter((host) => host.source === source);
      if (hosts.length > 0) this.#recordEvent(source, hosts);
    }
  }

  #recordEvent(source: string, hosts: readonly SkippedHost[]): void {
    const [, namespace = '', name = ''] = source.split('/');
    const listed = hosts.map((host) => `${JSON.stringify(host.host)} (${host.reason})`).join('; ');
    const message = hosts.length === 1 ? `hairpin-proxy will not route host ${listed}` : `hairpin-proxy will not route ${hosts.length} hosts: ${listed}`;
    this.events.record({ kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', namespace, name }, 'Warning', 'InvalidHost', message);
  }
}

function identity(host: SkippedHost): string {
  return `${host.source}|${host.host}|${host.reason}`;
}
