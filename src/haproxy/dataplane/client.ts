import { setTimeout as sleep } from 'node:timers/promises';
import { DataPlaneError } from './errors.js';
import type { Backend, Frontend, Reload, RuntimeServer, Server, Transaction } from './models.js';
import { Transport, type Query, type Reply, type TransportOptions } from './transport.js';

/**
 * Where a configuration write goes: into an open transaction, or straight to the file, checked
 * against the configuration version read before (a stale one is a Conflict).
 */
export type WriteTarget = { transactionId: string } | { version: number };

/** Every call can be cancelled: it then rejects with the signal's reason, retries included. */
export interface RequestOptions {
  readonly signal?: AbortSignal;
}

/**
 * What a write did to HAProxy:
 * - 'staged': recorded in the transaction; nothing happens until commit.
 * - 'live': applied without a reload (a server change the API could make through the runtime
 *   socket, written to the file as well so a later reload keeps it), or nothing to change.
 * - 'reload-scheduled': written to the file; a reload follows after reload_delay (`reloadId`).
 * - 'reloaded': the reload already ran (a commit the API reloaded for at once).
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
} & Scheduled<'staged' | 'live' | 'reload-scheduled'>;

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

export const CONFIG = '/services/haproxy/configuration';
export const RUNTIME = '/services/haproxy/runtime';
export const seg = encodeURIComponent;
/** Frontends and backends are always read and written whole: binds and servers inline. */
const FULL_SECTION: Query = { full_section: true };

/**
 * Typed client for the HAProxy Data Plane API v3: the spec's models (models.ts), hand-written
 * routes for exactly the calls the controller makes. Tests that need more extend it
 * (e2e/harness/dataplane-client.ts).
 */
export class DataPlaneClient {
  protected readonly http: Transport;
  readonly #reloadPollMs: number;

  constructor(options: DataPlaneClientOptions) {
    this.http = new Transport(options);
    this.#reloadPollMs = options.reloadPollMs ?? 250;
  }

  /**
   * Frontends (with binds) and backends (with servers) plus the version they were read at. Two
   * requests: if a write lands between them the versions differ and the read is repeated.
   */
  async snapshot(options: RequestOptions = {}): Promise<ConfigSnapshot> {
    for (let attempt = 1; ; attempt++) {
      const [frontends, backends] = await Promise.all([
        this.get<Frontend[]>(`${CONFIG}/frontends`, FULL_SECTION, options),
        this.get<Backend[]>(`${CONFIG}/backends`, FULL_SECTION, options),
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

  /** The configuration file's version alone: one small read that says whether a snapshot read before still holds. */
  async configurationVersion(options: RequestOptions = {}): Promise<number> {
    return (await this.get<number>(`${CONFIG}/version`, undefined, options)).data;
  }

  // --- runtime: what HAProxy serves now, without the file --------------------------------------

  /** Every server of a backend as HAProxy runs it now (address, port, admin state), in one read. */
  async runtimeServers(backend: string, options: RequestOptions = {}): Promise<RuntimeServer[]> {
    return (await this.get<RuntimeServer[]>(`${RUNTIME}/backends/${seg(backend)}/servers`, undefined, options)).data;
  }

  /**
   * Puts a server into or out of maintenance through the runtime socket only: a few milliseconds,
   * where a configuration write also rewrites and validates the file (`haproxy -c`, ~100 ms). The
   * file does not follow: a reload forgets it unless the file is written too.
   */
  async setServerAdminState(backend: string, name: string, state: 'ready' | 'maint', options: RequestOptions = {}): Promise<RuntimeServer> {
    const path = `${RUNTIME}/backends/${seg(backend)}/servers/${seg(name)}`;
    return (await this.http.request<RuntimeServer>({ method: 'PUT', path, body: { admin_state: state }, ...options })).data;
  }

  // --- sections, whole ----------------------------------------------------------------------

  createFrontend(frontend: Frontend, target: WriteTarget, options: RequestOptions = {}): Promise<WriteResult<Frontend>> {
    return this.write('POST', `${CONFIG}/frontends`, target, options, frontend, FULL_SECTION);
  }

  replaceFrontend(name: string, frontend: Frontend, target: WriteTarget, options: RequestOptions = {}): Promise<WriteResult<Frontend>> {
    return this.write('PUT', `${CONFIG}/frontends/${seg(name)}`, target, options, frontend, FULL_SECTION);
  }

  deleteFrontend(name: string, target: WriteTarget, options: RequestOptions = {}): Promise<WriteResult<void>> {
    return this.write('DELETE', `${CONFIG}/frontends/${seg(name)}`, target, options);
  }

  createBackend(backend: Backend, target: WriteTarget, options: RequestOptions = {}): Promise<WriteResult<Backend>> {
    return this.write('POST', `${CONFIG}/backends`, target, options, backend, FULL_SECTION);
  }

  replaceBackend(name: string, backend: Backend, target: WriteTarget, options: RequestOptions = {}): Promise<WriteResult<Backend>> {
    return this.write('PUT', `${CONFIG}/backends/${seg(name)}`, target, options, backend, FULL_SECTION);
  }

  deleteBackend(name: string, target: WriteTarget, options: RequestOptions = {}): Promise<WriteResult<void>> {
    return this.write('DELETE', `${CONFIG}/backends/${seg(name)}`, target, options);
  }

  // --- servers ------------------------------------------------------------------------------

  /**
   * Outside a transaction the API also adds the server through the runtime socket ('live', no
   * reload) when it can: no `default-server` in the backend or defaults, runtime-compatible
   * settings. HAProxy before 3.0 adds runtime servers in maintenance, so `maintenance` defaults to
   * 'disabled' here: the live server takes traffic, as its line in the file says it should.
   */
  createServer(backend: string, server: Server, target: WriteTarget, options: RequestOptions = {}): Promise<WriteResult<Server>> {
    return this.write('POST', `${CONFIG}/backends/${seg(backend)}/servers`, target, options, { maintenance: 'disabled', ...server });
  }

  /**
   * Replaces the whole server: send every setting it keeps, as read. Outside a transaction, a
   * change of address, port, weight or maintenance only is 'live'; any other difference reloads.
   */
  replaceServer(backend: string, name: string, server: Server, target: WriteTarget, options: RequestOptions = {}): Promise<WriteResult<Server>> {
    return this.write('PUT', `${CONFIG}/backends/${seg(backend)}/servers/${seg(name)}`, target, options, server);
  }

  // --- transactions -------------------------------------------------------------------------

  async startTransaction(version: number, options: RequestOptions = {}): Promise<Transaction & { id: string }> {
    const path = '/services/haproxy/transactions';
    return (await this.http.request<Transaction & { id: string }>({ method: 'POST', path, query: { version }, ...options })).data;
  }

  /**
   * Validates the transaction's file with `haproxy -c` and makes it the configuration. Not retried:
   * a commit whose reply was lost must be judged by re-reading the version, not by committing twice.
   */
  async commitTransaction(id: string, options: RequestOptions = {}): Promise<CommitResult> {
    return this.commit(id, {}, options);
  }

  /** The API keeps transactions until committed or deleted, across its own restarts. */
  async listTransactions(status: 'failed' | 'in_progress', options: RequestOptions = {}): Promise<Transaction[]> {
    return (await this.get<Transaction[]>('/services/haproxy/transactions', { status }, options)).data;
  }

  async deleteTransaction(id: string, options: RequestOptions = {}): Promise<void> {
    await this.http.request({ method: 'DELETE', path: `/services/haproxy/transactions/${seg(id)}`, ...options });
  }

  // --- reloads ------------------------------------------------------------------------------

  /**
   * Polls until the reload has run. A failed reload (HAProxy refused the new file; the API has
   * restored the last good one) and a reload still pending after timeoutMs are Unavailable.
   */
  async waitForReload(id: string, options: RequestOptions & { timeoutMs?: number } = {}): Promise<Reload> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const path = `/services/haproxy/reloads/${seg(id)}`;
    for (;;) {
      const reload = (await this.get<Reload>(path, undefined, options)).data;
      if (reload.status === 'succeeded') return reload;
      if (reload.status === 'failed') {
        throw new DataPlaneError('Unavailable', 'GET', path, undefined, `reload failed: ${reload.response ?? 'no output'}`);
      }
      if (Date.now() >= deadline) {
        throw new DataPlaneError('Unavailable', 'GET', path, undefined, `reload still ${reload.status ?? 'pending'} after ${options.timeoutMs ?? 30_000} ms`);
      }
      await sleep(this.#reloadPollMs, undefined, { signal: options.signal }).catch((aborted: unknown) => {
        options.signal?.throwIfAborted();
        throw aborted;
      });
    }
  }

  // --- plumbing, for subclasses too ---------------------------------------------------------

  protected async commit(id: string, query: Query, { signal }: RequestOptions): Promise<CommitResult> {
    const path = `/services/haproxy/transactions/${seg(id)}`;
    const reply = await this.http.request<Transaction>({ method: 'PUT', path, query, idempotent: false, ...(signal ? { signal } : {}) });
    return reply.reloadId === undefined
      ? { transaction: reply.data, effect: 'reloaded' }
      : { transaction: reply.data, effect: 'reload-scheduled', reloadId: reply.reloadId };
  }

  protected get<T>(path: string, query: Query | undefined, { signal }: RequestOptions = {}): Promise<Reply<T>> {
    return this.http.request<T>({ method: 'GET', path, ...(query ? { query } : {}), ...(signal ? { signal } : {}) });
  }

  protected async write<T>(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    target: WriteTarget,
    { signal }: RequestOptions,
    body?: unknown,
    extra: Query = {},
  ): Promise<WriteResult<T>> {
    const inTransaction = 'transactionId' in target;
    const query: Query = inTransaction ? { ...extra, transaction_id: target.transactionId } : { ...extra, version: target.version };
    const reply = await this.http.request<T>({ method, path, query, ...(body === undefined ? {} : { body }), ...(signal ? { signal } : {}) });
    if (inTransaction) return { data: reply.data, effect: 'staged' };
    const written = { data: reply.data, ...(reply.configurationVersion === undefined ? {} : { version: reply.configurationVersion }) };
    if (reply.reloadId !== undefined) return { ...written, effect: 'reload-scheduled', reloadId: reply.reloadId };
    return { ...written, effect: 'live' };
  }
}
