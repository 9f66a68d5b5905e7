import type { ConfigSnapshot } from './dataplane/client.js';
import type { Backend, Frontend, Server } from './dataplane/models.js';
import { OWNED_PREFIX, type DesiredBackend, type DesiredFrontend, type DesiredHaproxy } from './desired.js';
import { freshSlots, planSlots, type ServerChange } from './slots.js';

/** A change to a whole section: it can only be made by rewriting the file, so it reloads HAProxy. */
export type SectionChange =
  | { readonly op: 'create' | 'replace'; readonly section: 'frontend'; readonly name: string; readonly body: Frontend; readonly reason: string }
  | { readonly op: 'create' | 'replace'; readonly section: 'backend'; readonly name: string; readonly body: Backend; readonly reason: string }
  | { readonly op: 'delete'; readonly section: 'frontend' | 'backend'; readonly name: string; readonly reason: string };

export interface HaproxyPlan {
  /** Non-empty means one transaction and one reload; `servers` is then empty (folded in). */
  readonly sections: readonly SectionChange[];
  /** Runtime-only server writes, one backend after another. */
  readonly servers: ReadonlyArray<ServerChange & { readonly backend: string }>;
}

export interface PlanOptions {
  /**
   * Backends whose file says something else than HAProxy serves (`live` is what it serves): a
   * reload would bring the file's servers back, so if one comes they are rewritten with it.
   */
  readonly fileLags?: ReadonlySet<string>;
}

export function isEmptyPlan(plan: HaproxyPlan): boolean {
  return plan.sections.length === 0 && plan.servers.length === 0;
}

/**
 * Pure: what must change in the live configuration to serve `desired`. Only sections named with
 * OWNED_PREFIX are read or written, so an operator's own frontends and backends are left alone.
 */
export function planHaproxy(live: Pick<ConfigSnapshot, 'frontends' | 'backends'>, desired: DesiredHaproxy, options: PlanOptions = {}): HaproxyPlan {
  const lagging = options.fileLags ?? new Set<string>();
  const sections: SectionChange[] = [];
  const servers: Array<ServerChange & { backend: string }> = [];
  /** Backends whose only changes are servers: what a reload, if one comes, rewrites whole. */
  const rideAlong: Array<{ want: DesiredBackend; servers: readonly Server[]; reason: string }> = [];
  const liveBackends = new Map(live.backends.filter(owned).map((b) => [b.name, b]));
  const liveFrontends = new Map(live.frontends.filter(owned).map((f) => [f.name, f]));

  for (const want of desired.backends) {
    const template = serverTemplate(want, desired);
    const have = liveBackends.get(want.name);
    if (!have) {
      sections.push({ op: 'create', section: 'backend', name: want.name, body: backendBody(want, desired, freshSlots(want.endpoints, template)), reason: 'new backend' });
      continue;
    }
    const liveServers = Object.values(have.servers ?? {});
    const slots = planSlots(liveServers, want.endpoints, template);
    const drift = backendDrift(have, want, desired) ?? liveServers.map((s) => serverDrift(s, template)).find(Boolean);
    if (drift) sections.push({ op: 'replace', section: 'backend', name: want.name, body: backendBody(want, desired, slots.servers), reason: drift });
    else if (slots.changes.length > 0) {
      servers.push(...slots.changes.map((change) => ({ ...change, backend: want.name })));
      rideAlong.push({ want, servers: slots.servers, reason: 'server changes ride along with the reload' });
    } else if (lagging.has(want.name)) {
      rideAlong.push({ want, servers: slots.servers, reason: 'server states set at runtime are written with the reload' });
    }
  }
  for (const want of desired.frontends) {
    const have = liveFrontends.get(want.name);
    const body = frontendBody(want, desired);
    if (!have) sections.push({ op: 'create', section: 'frontend', name: want.name, body, reason: 'new frontend' });
    else {
      const drift = frontendDrift(have, body);
      if (drift) sections.push({ op: 'replace', section: 'frontend', name: want.name, body, reason: drift });
    }
  }
  const wantedFrontends = new Set(desired.frontends.map((f) => f.name));
  const wantedBackends = new Set(desired.backends.map((b) => b.name));
  for (const name of liveFrontends.keys()) {
    if (!wantedFrontends.has(name)) sections.push({ op: 'delete', section: 'frontend', name, reason: 'frontend no longer wanted' });
  }
  for (const name of liveBackends.keys()) {
    if (!wantedBackends.has(name)) sections.push({ op: 'delete', section: 'backend', name, reason: 'backend no longer wanted' });
  }
  if (sections.length === 0) return { sections, servers };
  // A reload is coming anyway: fold the server changes into full backend rewrites.
  for (const { want, servers: planned, reason } of rideAlong) {
    sections.push({ op: 'replace', section: 'backend', name: want.name, body: backendBody(want, desired, planned), reason });
  }
  return { sections: orderForTransaction(sections), servers: [] };
}

/** Backends exist before a frontend names them and outlive it. */
function orderForTransaction(sections: SectionChange[]): SectionChange[] {
  const rank = (s: SectionChange): number => (s.op === 'delete' ? (s.section === 'frontend' ? 2 : 3) : s.section === 'backend' ? 0 : 1);
  return sections.sort((a, b) => rank(a) - rank(b));
}

function owned(section: { name: string }): boolean {
  return section.name.startsWith(OWNED_PREFIX);
}

function serverTemplate(want: DesiredBackend, desired: DesiredHaproxy): Omit<Server, 'name' | 'address' | 'port'> {
  return {
    'send-proxy': want.proxyProtocol === 'v1' ? 'enabled' : 'disabled',
    'send-proxy-v2': want.proxyProtocol === 'v2' ? 'enabled' : 'disabled',
    check: 'enabled',
    inter: desired.policy.checkIntervalMs,
  };
}

/** The whole backend as it should be written; every server gets the shared settings anew. */
function backendBody(want: DesiredBackend, desired: DesiredHaproxy, servers: readonly Server[]): Backend {
  const { timeouts } = desired.policy;
  const template = serverTemplate(want, desired);
  return {
    name: want.name,
    mode: 'tcp',
    balance: { algorithm: 'roundrobin' },
    connect_timeout: timeouts.connectMs,
    server_timeout: timeouts.serverMs,
    tunnel_timeout: timeouts.tunnelMs,
    servers: Object.fromEntries(servers.map((s) => [s.name, { ...s, ...template }])),
  };
}

function frontendBody(want: DesiredFrontend, desired: DesiredHaproxy): Frontend {
  const bind = `port_${want.port}`;
  return {
    name: want.name,
    mode: 'tcp',
    default_backend: want.backend,
    client_timeout: desired.policy.timeouts.clientMs,
    maxconn: desired.policy.maxconn,
    binds: { [bind]: { name: bind, address: '0.0.0.0', port: want.port } },
  };
}

function backendDrift(have: Backend, want: DesiredBackend, desired: DesiredHaproxy): string | undefined {
  const body = backendBody(want, desired, []);
  return fieldDrift('backend', have, body, ['mode', 'connect_timeout', 'server_timeout', 'tunnel_timeout'])
    ?? (have.balance?.algorithm === body.balance?.algorithm ? undefined : `backend ${want.name}: balance differs`);
}

function frontendDrift(have: Frontend, body: Frontend): string | undefined {
  const drift = fieldDrift('frontend', have, body, ['mode', 'default_backend', 'client_timeout', 'maxconn']);
  if (drift) return drift;
  const binds = (f: Frontend) => JSON.stringify(Object.values(f.binds ?? {}).map((b) => [b.name, b.address, b.port ?? null]).sort());
  return binds(have) === binds(body) ? undefined : `frontend ${body.name}: binds differ`;
}

function fieldDrift<T extends { name: string }>(section: string, have: T, want: T, fields: ReadonlyArray<keyof T & string>): string | undefined {
  const field = fields.find((f) => (have[f] ?? null) !== (want[f] ?? null));
  return field === undefined ? undefined : `${section} ${want.name}: ${field} is ${JSON.stringify(have[field] ?? null)}, wants ${JSON.stringify(want[field])}`;
}

function serverDrift(have: Server, template: Omit<Server, 'name' | 'address' | 'port'>): string | undefined {
  const fields = Object.keys(template) as Array<keyof typeof template>;
  const field = fields.find((f) => (have[f] ?? 'disabled') !== template[f]);
  return field === undefined ? undefined : `server ${have.name}: ${field} is ${JSON.stringify(have[field] ?? null)}, wants ${JSON.stringify(template[field])}`;
}
