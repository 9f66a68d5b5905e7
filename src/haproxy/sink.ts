import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { ConfigSnapshot, DataPlaneClient, RequestOptions, WriteTarget } from './dataplane/client.js';
import { DataPlaneError } from './dataplane/errors.js';
import type { Backend, RuntimeServer, Server } from './dataplane/models.js';
import { OWNED_PREFIX, type DesiredHaproxy } from './desired.js';
import { isEmptyPlan, planHaproxy, type HaproxyPlan, type SectionChange } from './plan.js';
import { writeServers, RUNTIME_CONCURRENCY, type ServerWriter } from './server-writes.js';
import { fileLag, servingBackend } from './serving.js';

/** The calls the sink makes; DataPlaneClient has them, and so does the unit tests' fake. */
export type DataPlane = Pick<
  DataPlaneClient,
  | 'snapshot'
  | 'configurationVersion'
  | 'runtimeServers'
  | 'setServerAdminState'
  | 'startTransaction'
  | 'commitTransaction'
  | 'deleteTransaction'
  | 'listTransactions'
  | 'createFrontend'
  | 'replaceFrontend'
  | 'deleteFrontend'
  | 'createBackend'
  | 'replaceBackend'
  | 'deleteBackend'
  | 'createServer'
  | 'replaceServer'
  | 'waitForReload'
>;

/**
 * - 'unchanged': live already equals desired; nothing was written.
 * - 'runtime': only server slots changed, through the runtime API: no reload.
 * - 'reload': a section changed; one transaction was committed and HAProxy reloaded.
 * - 'dry-run': something would have changed; nothing was written.
 */
export interface HaproxyOutcome {
  readonly action: 'unchanged' | 'runtime' | 'reload' | 'dry-run';
  /** Why each change was made: the reload reasons, or each server write's. */
  readonly reasons: readonly string[];
  readonly writes: number;
  readonly attempts: number;
  /** Server writes the API answered with a reload although the runtime path was expected. */
  readonly unexpectedReloads: number;
}

export interface HaproxySinkContext {
  readonly log: Logger;
  readonly dryRun: boolean;
  /** Cancels the sync: the request in flight ends and nothing more is written. */
  readonly signal?: AbortSignal;
}

const MAX_ATTEMPTS = 3;

export interface HaproxySinkOptions {
  /**
   * The file follows the runtime once the replica has had no sync for this long (default 300 ms):
   * each line costs the API a `haproxy -c`, and under endpoint churn the next sync would only
   * wait for it. Tests set 0.
   */
  readonly fileQuietMs?: number;
  /** ... or, under churn, one line every this long (default 5 s), so the file's lag stays bounded. */
  readonly fileMaxLagMs?: number;
}

/** What one sync reads: the file as known, and what HAProxy serves of it. */
interface View {
  readonly file: ConfigSnapshot;
  readonly serving: ConfigSnapshot;
}

/**
 * Keeps one HAProxy replica at the desired configuration through its Data Plane API. Compares
 * first and writes only differences. Section changes go in one transaction (validated by
 * `haproxy -c` before it replaces anything, so a bad one leaves the old configuration serving).
 * Server changes go runtime first (src/haproxy/server-writes.ts); the file follows after the sync,
 * one server line at a time, so that a reload keeps them. A stale version (409/406) means somebody
 * else wrote: re-read, re-plan.
 *
 * Each file write costs the API a `haproxy -c` (~100 ms); a runtime call, a few milliseconds. So
 * the sink remembers the file it last read or wrote (trusted while the API's version says it is
 * the same, forgotten on any error) and reads per sync only the version and, per backend, what
 * HAProxy serves, all at once. The lines the file owes are written between syncs, once the
 * replica is quiet: a sync waits for at most the one file write in flight, and only when it
 * touches the same server or the file.
 */
export class HaproxySink {
  #file: ConfigSnapshot | undefined;
  /** Server lines the file owes, by `backend/name`, as they should be written. */
  #owed = new Map<string, { readonly backend: string; readonly server: Server }>();
  #applying: Promise<void> | undefined;
  #fileWrite: { readonly key: string; readonly done: Promise<unknown> } | undefined;
  #following: Promise<void> | undefined;
  #context: HaproxySinkContext | undefined;
  #lastSync = 0;
  #owedSince = 0;
  readonly #quietMs: number;
  readonly #maxLagMs: number;

  constructor(
    private readonly api: DataPlane,
    options: HaproxySinkOptions = {},
  ) {
    this.#quietMs = options.fileQuietMs ?? 300;
    this.#maxLagMs = options.fileMaxLagMs ?? 5_000;
  }

  async apply(desired: DesiredHaproxy, context: HaproxySinkContext): Promise<HaproxyOutcome> {
    const request: RequestOptions = context.signal ? { signal: context.signal } : {};
    const leave = this.#enter();
    this.#context = context;
    try {
      for (let attempt = 1; ; attempt += 1) {
        const view = await this.#read(request);
        const owed = lagOf(view);
        const plan = planHaproxy(view.serving, desired, { fileLags: new Set(owed.map((o) => o.backend)) });
        const reasons = reasonsOf(plan);
        if (isEmptyPlan(plan)) {
          if (!context.dryRun) this.#owe(owed);
          return { action: 'unchanged', reasons, writes: 0, attempts: attempt, unexpectedReloads: 0 };
        }
        if (context.dryRun) {
          context.log.info({ reasons }, 'dry run: would change HAProxy');
          return { action: 'dry-run', reasons, writes: 0, attempts: attempt, unexpectedReloads: 0 };
        }
        try {
          const outcome = plan.sections.length > 0
            ? await this.#commitSections(plan.sections, view.file.version, context.log, request)
            : await this.#writeServers(plan, view, request);
          return { ...outcome, reasons, attempts: attempt };
        } catch (error) {
          // What landed is unknown: read everything again next time.
          this.#forget();
          const stale = error instanceof DataPlaneError && (error.kind === 'Conflict' || error.kind === 'OutdatedTransaction');
          if (!stale || attempt >= MAX_ATTEMPTS) throw error;
          context.log.info({ attempt, err: error }, 'HAProxy configuration changed under us; re-reading');
        }
      }
    } catch (error) {
      this.#forget();
      throw error;
    } finally {
      leave();
      this.#follow();
    }
  }

  /** Resolves once the file holds every server state set at runtime so far (or a write failed). */
  async flush(): Promise<void> {
    while (this.#following) await this.#following;
  }

  /** The known file if the API's version still says so, else a fresh snapshot; with what HAProxy serves of each owned backend. */
  async #read(request: RequestOptions): Promise<View> {
    const known = this.#file;
    if (known) {
      const [version, runtime] = await Promise.all([this.api.configurationVersion(request), this.#runtime(known, request)]);
      // A file write of our own may have landed between the version read and its reply.
      if (version !== known.version) await this.#fileWrite?.done;
      const file = this.#file;
      if (file && version === file.version) return viewOf(file, runtime);
    }
    const file = await this.api.snapshot(request);
    this.#file = file;
    return viewOf(file, await this.#runtime(file, request));
  }

  async #runtime(file: ConfigSnapshot, request: RequestOptions): Promise<Map<string, RuntimeServer[] | undefined>> {
    const names = file.backends.filter(owned).map((b) => b.name);
    const found = new Map<string, RuntimeServer[] | undefined>();
    for (let i = 0; i < names.length; i += RUNTIME_CONCURRENCY) {
      await Promise.all(
        names.slice(i, i + RUNTIME_CONCURRENCY).map(async (name) => {
          // Not loaded yet (created in the file, reload pending): the file is all there is.
          const servers = await this.api.runtimeServers(name, request).catch((error: unknown) => {
            if (error instanceof DataPlaneError && error.kind === 'NotFound') return undefined;
            throw error;
          });
          found.set(name, servers);
        }),
      );
    }
    return found;
  }

  async #writeServers(plan: HaproxyPlan, view: View, request: RequestOptions): Promise<Omit<HaproxyOutcome, 'reasons' | 'attempts'>> {
    const serving = new Map(view.serving.backends.filter(owned).map((b) => [b.name, new Map(Object.values(b.servers ?? {}).map((s) => [s.name, s]))]));
    // The one file write in flight may be for a server this sync moves: let it land first.
    const writing = this.#fileWrite;
    if (writing && plan.servers.some((c) => `${c.backend}/${c.server.name}` === writing.key)) await writing.done;
    const writer: ServerWriter = {
      setAdminState: (backend, name, state, options) => this.api.setServerAdminState(backend, name, state, options),
      writeLine: async (backend, change, options) => {
        await this.#fileWrite?.done;
        const file = this.#file ?? view.file;
        const target: WriteTarget = { version: file.version };
        const fileBefore = file.backends.find((b) => b.name === backend)?.servers?.[change.server.name];
        const result = change.op === 'add'
          ? await this.api.createServer(backend, change.server, target, options)
          : await this.api.replaceServer(backend, change.server.name, change.server, target, options);
        this.#file = withLine(file, backend, change.server, result.version ?? file.version + 1);
        return { result, fileBefore };
      },
    };
    const outcome = await writeServers(plan.servers, serving, writer, request);
    const file = this.#file ?? view.file;
    this.#owe(lagOf({ file, serving: { ...file, backends: file.backends.map((b) => withServers(b, serving.get(b.name))) } }));
    return { action: 'runtime', writes: outcome.runtimeWrites + outcome.fileWrites, unexpectedReloads: outcome.unexpectedReloads };
  }

  async #commitSections(
    sections: readonly SectionChange[],
    version: number,
    log: Logger,
    request: RequestOptions,
  ): Promise<Omit<HaproxyOutcome, 'reasons' | 'attempts'>> {
    await this.#fileWrite?.done;
    await this.#discardOrphanedTransactions(log, request);
    const transaction = await this.api.startTransaction(this.#file?.version ?? version, request);
    const target = { transactionId: transaction.id };
    try {
      for (const change of sections) await this.#stage(change, target, request);
      const committed = await this.api.commitTransaction(transaction.id, request);
      // The reload rewrote every lagging backend (planHaproxy's fileLags): nothing is owed, and the
      // file is read anew next time.
      this.#forget();
      // Committed: the reload is HAProxy's now, and waiting for it is only reporting.
      if (committed.effect === 'reload-scheduled') await this.api.waitForReload(committed.reloadId, request);
      return { action: 'reload', writes: sections.length, unexpectedReloads: 0 };
    } catch (error) {
      // A transaction left open counts against the API's limit (429) until deleted; deleted even
      // when the sync was cancelled, since nothing else will.
      await this.api.deleteTransaction(transaction.id).catch((cleanup: unknown) => log.debug({ err: cleanup }, 'transaction already gone'));
      throw error;
    }
  }

  /**
   * A Data Plane API killed in the middle of a write leaves that write's transaction open, and open
   * transactions count against its limit (429 at 20). This HAProxy is the controller's alone and
   * a replica syncs one at a time, so any transaction open now is such an orphan.
   */
  async #discardOrphanedTransactions(log: Logger, request: RequestOptions): Promise<void> {
    const open = await this.api.listTransactions('in_progress', request);
    for (const transaction of open) if (transaction.id) await this.api.deleteTransaction(transaction.id, request);
    if (open.length > 0) log.info({ count: open.length, ids: open.map((t) => t.id) }, 'discarded transactions left open');
  }

  async #stage(change: SectionChange, target: WriteTarget, request: RequestOptions): Promise<unknown> {
    switch (change.op) {
      case 'delete':
        return change.section === 'frontend' ? this.api.deleteFrontend(change.name, target, request) : this.api.deleteBackend(change.name, target, request);
      case 'create':
        return change.section === 'frontend' ? this.api.createFrontend(change.body, target, request) : this.api.createBackend(change.body, target, request);
      case 'replace':
        return change.section === 'frontend'
          ? this.api.replaceFrontend(change.name, change.body, target, request)
          : this.api.replaceBackend(change.name, change.body, target, request);
    }
  }

  // --- the file follows the runtime, between syncs ----------------------------------------------

  #enter(): () => void {
    let leave = (): void => undefined;
    const applying = new Promise<void>((resolve) => (leave = resolve));
    this.#applying = applying;
    return () => {
      if (this.#applying === applying) this.#applying = undefined;
      this.#lastSync = performance.now();
      leave();
    };
  }

  #owe(lines: ReadonlyArray<{ backend: string; server: Server }>): void {
    if (this.#owed.size === 0) this.#owedSince = performance.now();
    this.#owed = new Map(lines.map((line) => [`${line.backend}/${line.server.name}`, line]));
  }

  #forget(): void {
    this.#file = undefined;
    this.#owed.clear();
  }

  #follow(): void {
    if (this.#following || this.#owed.size === 0) return;
    this.#following = this.#writeOwed().finally(() => (this.#following = undefined));
  }

  /** One owed line at a time, each against the version it follows; a sync that starts goes first. */
  async #writeOwed(): Promise<void> {
    for (;;) {
      // After the sync has been reported, and after a sync the queue starts at once.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.#applying) await this.#applying;
      const now = performance.now();
      const waitMs = Math.min(this.#lastSync + this.#quietMs, this.#owedSince + this.#maxLagMs) - now;
      if (waitMs > 0) {
        // Unreferenced: a pending file write never keeps the process alive; cancelled with the term.
        const woke = await sleep(waitMs, true, { ref: false, ...(this.#context?.signal ? { signal: this.#context.signal } : {}) }).catch(() => false);
        if (!woke) return;
        continue;
      }
      const context = this.#context;
      const [key, line] = this.#owed.entries().next().value ?? [];
      if (!context || context.signal?.aborted || !this.#file || !key || !line) return;
      const step = this.#writeOwedLine(key, line, context);
      this.#fileWrite = { key, done: step };
      const written = await step;
      this.#fileWrite = undefined;
      if (!written) return;
    }
  }

  /** True when the line is in the file (written now, or already); the sink's memory is updated before it resolves. */
  async #writeOwedLine(key: string, line: { backend: string; server: Server }, context: HaproxySinkContext): Promise<boolean> {
    const file = this.#file as ConfigSnapshot;
    const inFile = file.backends.find((b) => b.name === line.backend)?.servers?.[line.server.name];
    if (inFile && fileLag({ name: line.backend, servers: { [inFile.name]: inFile } }, { name: line.backend, servers: { [line.server.name]: line.server } }).length === 0) {
      this.#owed.delete(key);
      return true;
    }
    try {
      const request: RequestOptions = context.signal ? { signal: context.signal } : {};
      const result = await this.api.replaceServer(line.backend, line.server.name, line.server, { version: file.version }, request);
      if (this.#file === file) this.#file = withLine(file, line.backend, line.server, result.version ?? file.version + 1);
      if (this.#owed.get(key) === line) this.#owed.delete(key);
      // Under churn the lag clock restarts with every line: one forced write per fileMaxLagMs, not a
      // stream of them that every sync would wait behind.
      this.#owedSince = performance.now();
      if (result.effect !== 'live') context.log.warn({ backend: line.backend, server: line.server.name }, 'writing a server state to the file caused a reload; check the HAProxy base configuration');
      return true;
    } catch (error) {
      this.#forget();
      if (!context.signal?.aborted) context.log.warn({ err: error }, 'could not write server states to the HAProxy configuration file; the next sync tries again');
      return false;
    }
  }
}

function owned(section: { name: string }): boolean {
  return section.name.startsWith(OWNED_PREFIX);
}

function viewOf(file: ConfigSnapshot, runtime: ReadonlyMap<string, readonly RuntimeServer[] | undefined>): View {
  return { file, serving: { ...file, backends: file.backends.map((b) => (owned(b) ? servingBackend(b, runtime.get(b.name)) : b)) } };
}

function lagOf(view: View): Array<{ backend: string; server: Server }> {
  const serving = new Map(view.serving.backends.map((b) => [b.name, b]));
  return view.file.backends.filter(owned).flatMap((b) => {
    const now = serving.get(b.name);
    return now ? fileLag(b, now).map((server) => ({ backend: b.name, server })) : [];
  });
}

function withServers(backend: Backend, servers: ReadonlyMap<string, Server> | undefined): Backend {
  return servers ? { ...backend, servers: Object.fromEntries(servers) } : backend;
}

function withLine(file: ConfigSnapshot, backend: string, server: Server, version: number): ConfigSnapshot {
  return {
    ...file,
    version,
    backends: file.backends.map((b) => (b.name === backend ? { ...b, servers: { ...b.servers, [server.name]: server } } : b)),
  };
}

function reasonsOf(plan: HaproxyPlan): string[] {
  return plan.sections.length > 0
    ? plan.sections.map((s) => `${s.op} ${s.section} ${s.name}: ${s.reason}`)
    : plan.servers.map((s) => `${s.op} server ${s.backend}/${s.server.name}: ${s.reason}`);
}
