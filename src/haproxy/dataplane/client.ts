import { setTimeout as sleep } from 'node:timers/promises';
import { DataPlaneError } from './errors.js';
import type { Backend, Bind, Frontend, Info, Reload, RuntimeAddServer, RuntimeServer, Server, Transaction } from './models.js';
import { Transport, type Query, type Reply, type TransportOptions } from './transport.js';

export type { Backend, Bind, Frontend, Info, Reload, RuntimeAddServer, RuntimeServer, Server, Transaction } from './models.js';

/**
 * Where a configuration write goes: into an open transaction, or straight to the file, checked
 * against the configuration version read before (a stale one is a Conflict).
 */
export type WriteTarget = { transactionId: string } | { version: number; forceReload?: boolean };

/** Read from the live configuration, or from an open transaction's copy of it. */
export interface ReadOptions {
  transactionId?: string;
}

/**
 * What a write did to HAProxy:
 * - 'staged': recorded in the transaction; nothing happens until commit.
 * - 'live': applied without a reload (a server change the API could make through the runtime
 *   socket, written to the file as well so a later reload keeps it), or nothing to change.
 * - 'reload-scheduled': written to the file; a reload follows after reload_delay (`reloadId`).
 * - 'reloaded': forceReload was asked and the reload already ran.
 */
export type WriteEffect = 'staged' | 'live' | 'reload-scheduled' | 'reloaded';

/** `reloadId` is there exactly when a reload was scheduled: pass it to waitForReload. */
type Scheduled<E extends WriteEffect> =
  | { effect: Extract<E, 'reload-scheduled'>; reloadId: string }
  | { effect: Exclude<E, 'reload-scheduled'> };

export type WriteResult<T> = {
  data: T;
  /** Outside a transaction: the configuration version after this write, for the next one. */
  version?: number;
} & Scheduled<WriteEffect>;

export type CommitResult = { transaction: Transaction } & Scheduled<'reload-scheduled' | 'reloaded'>;

/** The live configuration as one consistent read, for diffing against the desired state. */
export interface ConfigSnapshot {
  version: number;
  frontends: Frontend[];
  backends: Backend[];
}

export interface DataPlaneClientOptions extends TransportOptions {
  /** How often waitForReload polls. Default 250 ms. */
  reloadPollMs?: number;
}

const CONFIG = '/services/haproxy/configuration';
const RUNTIME = '/services/haproxy/runtime';
const seg = encodeURIComponent;

/**
 * Typed client for the HAProxy Data Plane API v3: the spec's models (models.ts), hand-written routes for the
 * endpoints this controller uses.
 */
export class DataPlaneClient {
  readonly #http: Transport;
  readonly #reloadPollMs: number;

  constructor(options: DataPlaneClientOptions) {
    this.#http = new Transport(options);
    this.#reloadPollMs = options.reloadPollMs ?? 250;
  }

  async info(): Promise<Info> {
    return (await this.#get<Info>('/info')).data;
  }

  async configurationVersion(options: ReadOptions = {}): Promise<number> {
    return (await this.#get<number>(`${CONFIG}/version`, readQuery(options))).data;
  }

  /**
   * Frontends (with binds) and backends (with servers) plus the version they were read at. Two
   * requests: if a write lands between them the versions differ and the read is repeated.
   */
  async snapshot(): Promise<ConfigSnapshot> {
    for (let attempt = 1; ; attempt++) {
      const [frontends, backends] = await Promise.all([
        this.#get<Frontend[]>(`${CONFIG}/frontends`, { full_section: true }),
        this.#get<Backend[]>(`${CONFIG}/backends`, { full_section: true }),
      ]);
      const version = frontends.configurationVersion;
      if (version !== undefined && version === backends.configurationVersion) {
        return { version, frontends: frontends.data, backends: backends.data };
      }
      if (attempt >= 3) {
        throw new DataPlaneError('Conflict', 'GET', `${CONFIG}/{frontends,backends}`, undefined,
          `configuration kept changing while read (versions ${version} and ${backends.configurationVersion})`);
      }
    }
  }

  // --- frontends and binds ------------------------------------------------------------------

  async listFrontends(options: ReadOptions & { fullSection?: boolean } = {}): Promise<Frontend[]> {
    return (await this.#get<Frontend[]>(`${CONFIG}/frontends`, listQuery(options))).data;
  }

  async getFrontend(name: string, options: ReadOptions & { fullSection?: boolean } = {}): Promise<Frontend> {
    return (await this.#get<Frontend>(`${CONFIG}/frontends/${seg(name)}`, listQuery(options))).data;
  }

  createFrontend(frontend: Frontend, target: WriteTarget, options: { fullSection?: boolean } = {}): Promise<WriteResult<Frontend>> {
    return this.#write('POST', `${CONFIG}/frontends`, target, frontend, sectionQuery(options));
  }

  replaceFrontend(name: string, frontend: Frontend, target: WriteTarget, options: { fullSection?: boolean } = {}): Promise<WriteResult<Frontend>> {
    return this.#write('PUT', `${CONFIG}/frontends/${seg(name)}`, target, frontend, sectionQuery(options));
  }

  deleteFrontend(name: string, target: WriteTarget): Promise<WriteResult<void>> {
    return this.#write('DELETE', `${CONFIG}/frontends/${seg(name)}`, target);
  }

  async listBinds(frontend: string, options: ReadOptions = {}): Promise<Bind[]> {
    return (await this.#get<Bind[]>(`${CONFIG}/frontends/${seg(frontend)}/binds`, readQuery(options))).data;
  }

  createBind(frontend: string, bind: Bind, target: WriteTarget): Promise<WriteResult<Bind>> {
    return this.#write('POST', `${CONFIG}/frontends/${seg(frontend)}/binds`, target, bind);
  }

  replaceBind(frontend: string, name: string, bind: Bind, target: WriteTarget): Promise<WriteResult<Bind>> {
    return this.#write('PUT', `${CONFIG}/frontends/${seg(frontend)}/binds/${seg(name)}`, target, bind);
  }

  deleteBind(frontend: string, name: string, target: WriteTarget): Promise<WriteResult<void>> {
    return this.#write('DELETE', `${CONFIG}/frontends/${seg(frontend)}/binds/${seg(name)}`, target);
  }

  // --- backends and servers -----------------------------------------------------------------

  async listBackends(options: ReadOptions & { fullSection?: boolean } = {}): Promise<Backend[]> {
    return (await this.#get<Backend[]>(`${CONFIG}/backends`, listQuery(options))).data;
  }

  async getBackend(name: string, options: ReadOptions & { fullSection?: boolean } = {}): Promise<Backend> {
    return (await this.#get<Backend>(`${CONFIG}/backends/${seg(name)}`, listQuery(options))).data;
  }

  createBackend(backend: Backend, target: WriteTarget, options: { fullSection?: boolean } = {}): Promise<WriteResult<Backend>> {
    return this.#write('POST', `${CONFIG}/backends`, target, backend, sectionQuery(options));
  }

  replaceBackend(name: string, backend: Backend, target: WriteTarget, options: { fullSection?: boolean } = {}): Promise<WriteResult<Backend>> {
    return this.#write('PUT', `${CONFIG}/backends/${seg(name)}`, target, backend, sectionQuery(options));
  }

  deleteBackend(name: string, target: WriteTarget): Promise<WriteResult<void>> {
    return this.#write('DELETE', `${CONFIG}/backends/${seg(name)}`, target);
  }

  async listServers(backend: string, options: ReadOptions = {}): Promise<Server[]> {
    return (await this.#get<Server[]>(`${CONFIG}/backends/${seg(backend)}/servers`, readQuery(options))).data;
  }

  /**
   * Outside a transaction the API also adds the server through the runtime socket ('live', no
   * reload) when it can: no `default-server` in the backend or defaults, runtime-compatible
   * settings. HAProxy before 3.0 adds runtime servers in maintenance, so `maintenance` defaults to
   * 'disabled' here: the live server takes traffic, as its line in the file says it should.
   */
  createServer(backend: string, server: Server, target: WriteTarget): Promise<WriteResult<Server>> {
    return this.#write('POST', `${CONFIG}/backends/${seg(backend)}/servers`, target, { maintenance: 'disabled', ...server });
  }

  /**
   * Replaces the whole server: send every setting it keeps, as read. Outside a transaction, a
   * change of address, port, weight or maintenance only is 'live'; any other difference reloads.
   */
  replaceServer(backend: string, name: string, server: Server, target: WriteTarget): Promise<WriteResult<Server>> {
    return this.#write('PUT', `${CONFIG}/backends/${seg(backend)}/servers/${seg(name)}`, target, server);
  }

  /**
   * Always reloads (the API removes servers only through the file), unless staged in a
   * transaction. For removal without a reload, use deleteRuntimeServer first: the reload that
   * follows then finds nothing left to change.
   */
  deleteServer(backend: string, name: string, target: WriteTarget): Promise<WriteResult<void>> {
    return this.#write('DELETE', `${CONFIG}/backends/${seg(backend)}/servers/${seg(name)}`, target);
  }

  // --- transactions -------------------------------------------------------------------------

  async startTransaction(version: number): Promise<Transaction & { id: string }> {
    const path = '/services/haproxy/transactions';
    return (await this.#http.request<Transaction & { id: string }>({ method: 'POST', path, query: { version } })).data;
  }

  /** The API keeps transactions until committed or deleted: list them to clean up after a crash. */
  async listTransactions(status?: 'failed' | 'in_progress'): Promise<Transaction[]> {
    return (await this.#get<Transaction[]>('/services/haproxy/transactions', { status })).data;
  }

  /**
   * Validates the transaction's file with `haproxy -c` and makes it the configuration. Not retried:
   * a commit whose reply was lost must be judged by re-reading the version, not by committing twice.
   */
  async commitTransaction(id: string, options: { forceReload?: boolean } = {}): Promise<CommitResult> {
    const reply = await this.#http.request<Transaction>({
      method: 'PUT',
      path: `/services/haproxy/transactions/${seg(id)}`,
      query: { force_reload: options.forceReload },
      idempotent: false,
    });
    return reply.reloadId === undefined
      ? { transaction: reply.data, effect: 'reloaded' }
      : { transaction: reply.data, effect: 'reload-scheduled', reloadId: reply.reloadId };
  }

  async deleteTransaction(id: string): Promise<void> {
    await this.#http.request({ method: 'DELETE', path: `/services/haproxy/transactions/${seg(id)}` });
  }

  // --- runtime (no file change, lost on the next reload unless also in the file) ------------

  async listRuntimeServers(backend: string): Promise<RuntimeServer[]> {
    return (await this.#get<RuntimeServer[]>(`${RUNTIME}/backends/${seg(backend)}/servers`)).data;
  }

  async getRuntimeServer(backend: string, name: string): Promise<RuntimeServer> {
    return (await this.#get<RuntimeServer>(`${RUNTIME}/backends/${seg(backend)}/servers/${seg(name)}`)).data;
  }

  async setRuntimeServer(
    backend: string,
    name: string,
    state: Pick<RuntimeServer, 'admin_state' | 'operational_state'>,
  ): Promise<RuntimeServer> {
    return (await this.#http.request<RuntimeServer>({
      method: 'PUT',
      path: `${RUNTIME}/backends/${seg(backend)}/servers/${seg(name)}`,
      body: state,
    })).data;
  }

  /** `maintenance` defaults to 'disabled', for the reason given at createServer. */
  async addRuntimeServer(backend: string, server: RuntimeAddServer & { name: string; address: string }): Promise<RuntimeAddServer> {
    return (await this.#http.request<RuntimeAddServer>({
      method: 'POST',
      path: `${RUNTIME}/backends/${seg(backend)}/servers`,
      body: { maintenance: 'disabled', ...server },
    })).data;
  }

  /** Puts the server in maintenance, then deletes it; its open connections are cut. */
  async deleteRuntimeServer(backend: string, name: string): Promise<void> {
    await this.#http.request({ method: 'DELETE', path: `${RUNTIME}/backends/${seg(backend)}/servers/${seg(name)}` });
  }

  // --- reloads ------------------------------------------------------------------------------

  async getReload(id: string): Promise<Reload> {
    return (await this.#get<Reload>(`/services/haproxy/reloads/${seg(id)}`)).data;
  }

  /** The reloads the API remembers (reload_retention), oldest first. */
  async listReloads(): Promise<Reload[]> {
    return (await this.#get<Reload[]>('/services/haproxy/reloads')).data;
  }

  /**
   * Polls until the reload has run. A failed reload (HAProxy refused the new file; the API has
   * restored the last good one) and a reload still pending after timeoutMs are Unavailable.
   */
  async waitForReload(id: string, options: { timeoutMs?: number } = {}): Promise<Reload> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const reload = await this.getReload(id);
      if (reload.status === 'succeeded') return reload;
      const path = `/services/haproxy/reloads/${id}`;
      if (reload.status === 'failed') {
        throw new DataPlaneError('Unavailable', 'GET', path, undefined, `reload failed: ${reload.response ?? 'no output'}`);
      }
      if (Date.now() >= deadline) {
        throw new DataPlaneError('Unavailable', 'GET', path, undefined, `reload still ${reload.status ?? 'pending'} after ${options.timeoutMs ?? 30_000} ms`);
      }
      await sleep(this.#reloadPollMs);
    }
  }

  // --- plumbing -----------------------------------------------------------------------------

  #get<T>(path: string, query?: Query): Promise<Reply<T>> {
    return this.#http.request<T>({ method: 'GET', path, ...(query ? { query } : {}) });
  }

  async #write<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, target: WriteTarget, body?: unknown, extra: Query = {}): Promise<WriteResult<T>> {
    const inTransaction = 'transactionId' in target;
    const query: Query = inTransaction
      ? { ...extra, transaction_id: target.transactionId }
      : { ...extra, version: target.version, force_reload: target.forceReload };
    const reply = await this.#http.request<T>({ method, path, query, ...(body === undefined ? {} : { body }) });
    if (inTransaction) return { data: reply.data, effect: 'staged' };
    const written = { data: reply.data, ...(reply.configurationVersion === undefined ? {} : { version: reply.configurationVersion }) };
    if (reply.reloadId !== undefined) return { ...written, effect: 'reload-scheduled', reloadId: reply.reloadId };
    return { ...written, effect: target.forceReload ? 'reloaded' : 'live' };
  }
}

function readQuery({ transactionId }: ReadOptions): Query {
  return { transaction_id: transactionId };
}

function sectionQuery({ fullSection }: { fullSection?: boolean }): Query {
  return { full_section: fullSection };
}

function listQuery(options: ReadOptions & { fullSection?: boolean }): Query {
  return { ...readQuery(options), ...sectionQuery(options) };
}
