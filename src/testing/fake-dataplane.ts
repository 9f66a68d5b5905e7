import { DataPlaneError } from '../haproxy/dataplane/errors.js';
import type { CommitResult, ConfigSnapshot, WriteResult, WriteTarget } from '../haproxy/dataplane/client.js';
import type { Backend, Frontend, RuntimeServer, Server } from '../haproxy/dataplane/models.js';
import type { DataPlane } from '../haproxy/sink.js';

interface Config {
  frontends: Map<string, Frontend>;
  backends: Map<string, Backend>;
}

/** Fields a server write may change through the runtime socket (v3.0 on HAProxy 2.6). */
const RUNTIME_FIELDS = new Set(['address', 'port', 'maintenance', 'weight']);

/** A server as HAProxy runs it: what the runtime socket shows and changes. */
type RuntimeState = Required<Pick<RuntimeServer, 'name' | 'address' | 'port' | 'admin_state'>>;

/**
 * An in-memory Data Plane API with the real one's rules, as measured in
 * src/haproxy/dataplane/README.md: versioned writes (409 when stale), transactions (406 when
 * outdated), server add and address/maintenance changes without reload, a reload for anything else.
 * The file (`live`) and what HAProxy runs (`runtime`) are kept apart, as they are apart in
 * HAProxy: a runtime call changes only the runtime, a reload makes the runtime the file again,
 * and a server write outside a transaction changes both (the runtime where the file line changed).
 */
export class FakeDataPlane implements DataPlane {
  version = 1;
  reloads = 0;
  runtimeWrites = 0;
  live: Config = { frontends: new Map(), backends: new Map() };
  private readonly transactions = new Map<string, { version: number; config: Config }>();
  private nextTransaction = 1;
  /** Runs once before the next write: plays another writer, or a failure. */
  beforeNextWrite: (() => void) | undefined;
  /** When set, a commit fails validation (as `haproxy -c` would) with this message. */
  rejectCommits: string | undefined;
  /** Per backend and server: what HAProxy runs now. */
  runtime = new Map<string, Map<string, RuntimeState>>();
  /** Every call, in order, as `METHOD what`: what a test reads the call pattern from. */
  readonly calls: string[] = [];
  /** Asked at every call (after it is logged): a DataPlaneError returned fails that call. */
  failCall: ((call: string) => DataPlaneError | undefined) | undefined;

  /** The servers in rotation (runtime admin state ready), as `address:port`, sorted. */
  serving(backend: string): string[] {
    return [...(this.runtime.get(backend)?.values() ?? [])].filter((s) => s.admin_state === 'ready').map((s) => `${s.address}:${s.port}`).sort();
  }

  async configurationVersion(): Promise<number> {
    this.call('GET version');
    return this.version;
  }

  async runtimeServers(backend: string): Promise<RuntimeServer[]> {
    this.call(`GET runtime ${backend}`);
    const servers = this.runtime.get(backend);
    if (!servers) throw new DataPlaneError('NotFound', 'GET', backend, 404, 'no such backend');
    return [...servers.values()].map((s) => ({ ...s }));
  }

  async setServerAdminState(backend: string, name: string, state: 'ready' | 'maint'): Promise<RuntimeServer> {
    this.call(`PUT runtime ${backend}/${name} ${state}`);
    const server = this.runtime.get(backend)?.get(name);
    if (!server) throw new DataPlaneError('NotFound', 'PUT', name, 404, 'no such server');
    server.admin_state = state;
    return { ...server };
  }

  async snapshot(): Promise<ConfigSnapshot> {
    this.call('GET snapshot');
    return { version: this.version, frontends: [...this.live.frontends.values()].map(clone), backends: [...this.live.backends.values()].map(clone) };
  }

  async startTransaction(version: number) {
    this.call('POST transaction');
    this.checkVersion(version);
    const id = `tx${this.nextTransaction++}`;
    this.transactions.set(id, { version, config: copy(this.live) });
    return { id, _version: version, status: 'in_progress' as const };
  }

  async commitTransaction(id: string): Promise<CommitResult> {
    this.call('PUT transaction');
    const transaction = this.transactionOf(id);
    this.transactions.delete(id);
    if (transaction.version !== this.version) throw new DataPlaneError('OutdatedTransaction', 'PUT', id, 406, 'transaction is outdated');
    if (this.rejectCommits) throw new DataPlaneError('Invalid', 'PUT', id, 400, this.rejectCommits);
    this.live = transaction.config;
    this.version += 1;
    this.reload();
    return { transaction: { id, status: 'success' }, effect: 'reload-scheduled', reloadId: `reload-${this.reloads}` };
  }

  async deleteTransaction(id: string): Promise<void> {
    this.transactions.delete(id);
  }

  async listTransactions(status: 'in_progress') {
    this.call('GET transactions');
    return [...this.transactions.entries()].map(([id, t]) => ({ id, _version: t.version, status }));
  }

  async waitForReload() {
    return { status: 'succeeded' as const };
  }

  createFrontend(frontend: Frontend, target: WriteTarget) {
    return this.section(target, (config) => this.put(config.frontends, frontend, false));
  }
  replaceFrontend(name: string, frontend: Frontend, target: WriteTarget) {
    return this.section(target, (config) => this.put(config.frontends, { ...frontend, name }, true));
  }
  deleteFrontend(name: string, target: WriteTarget) {
    return this.section(target, (config) => void this.remove(config.frontends, name));
  }
  createBackend(backend: Backend, target: WriteTarget) {
    return this.section(target, (config) => this.put(config.backends, backend, false));
  }
  replaceBackend(name: string, backend: Backend, target: WriteTarget) {
    return this.section(target, (config) => this.put(config.backends, { ...backend, name }, true));
  }
  deleteBackend(name: string, target: WriteTarget) {
    return this.section(target, (config) => void this.remove(config.backends, name));
  }

  async createServer(backend: string, server: Server, target: WriteTarget): Promise<WriteResult<Server>> {
    this.call(`POST server ${backend}/${server.name}`);
    return this.serverWrite(backend, server, target, (servers) => {
      if (servers[server.name]) throw new DataPlaneError('Conflict', 'POST', server.name, 409, 'server already exists');
      return true;
    });
  }

  async replaceServer(backend: string, name: string, server: Server, target: WriteTarget): Promise<WriteResult<Server>> {
    this.call(`PUT server ${backend}/${name}`);
    return this.serverWrite(backend, { ...server, name }, target, (servers) => {
      const before = servers[name];
      if (!before) throw new DataPlaneError('NotFound', 'PUT', name, 404, 'no such server');
      const fields = new Set([...Object.keys(before), ...Object.keys(server)] as Array<keyof Server>);
      const changed = [...fields].filter((f) => JSON.stringify(before[f]) !== JSON.stringify(server[f]));
      return changed.every((f) => RUNTIME_FIELDS.has(f));
    });
  }

  private async serverWrite(backend: string, server: Server, target: WriteTarget, runtimeOk: (servers: Record<string, Server>) => boolean): Promise<WriteResult<Server>> {
    this.interlope();
    const config = this.configFor(target);
    const section = config.backends.get(backend);
    if (!section) throw new DataPlaneError('NotFound', 'POST', backend, 404, 'no such backend');
    const servers = section.servers ?? {};
    const live = runtimeOk(servers);
    const before = servers[server.name];
    section.servers = { ...servers, [server.name]: clone(server) };
    if ('transactionId' in target) return { data: server, effect: 'staged' };
    this.version += 1;
    if (live) {
      this.runtimeWrites += 1;
      this.followLine(backend, before, server);
      return { data: server, version: this.version, effect: 'live' };
    }
    this.reload();
    return { data: server, version: this.version, effect: 'reload-scheduled', reloadId: `reload-${this.reloads}` };
  }

  private async section(target: WriteTarget, change: (config: Config) => void): Promise<WriteResult<never>> {
    this.interlope();
    change(this.configFor(target));
    if ('transactionId' in target) return { data: undefined as never, effect: 'staged' };
    this.version += 1;
    this.reload();
    return { data: undefined as never, version: this.version, effect: 'reload-scheduled', reloadId: `reload-${this.reloads}` };
  }

  /** A reload: HAProxy runs the file again, and forgets whatever was set at runtime only. */
  private reload(): void {
    this.reloads += 1;
    this.runtime = new Map(
      [...this.live.backends.values()].map((b) => [b.name, new Map(Object.values(b.servers ?? {}).map((s) => [s.name, runtimeOf(s)]))]),
    );
  }

  /** As the API does after a live server write: the runtime follows where the file line changed. */
  private followLine(backend: string, before: Server | undefined, after: Server): void {
    const servers = this.runtime.get(backend);
    if (!servers) return;
    const running = servers.get(after.name);
    if (!before || !running) {
      servers.set(after.name, runtimeOf(after));
      return;
    }
    if (before.address !== after.address || before.port !== after.port) Object.assign(running, { address: after.address, port: after.port ?? 0 });
    if ((before.maintenance ?? 'disabled') !== (after.maintenance ?? 'disabled')) running.admin_state = after.maintenance === 'enabled' ? 'maint' : 'ready';
  }

  private call(call: string): void {
    this.calls.push(call);
    const error = this.failCall?.(call);
    if (error) throw error;
  }

  private put<T extends { name: string }>(map: Map<string, T>, value: T, mustExist: boolean): void {
    if (map.has(value.name) !== mustExist) throw new DataPlaneError(mustExist ? 'NotFound' : 'Conflict', 'PUT', value.name, mustExist ? 404 : 409, 'exists or not');
    map.set(value.name, clone(value));
  }

  private remove<T>(map: Map<string, T>, name: string): void {
    if (!map.delete(name)) throw new DataPlaneError('NotFound', 'DELETE', name, 404, 'no such section');
  }

  private configFor(target: WriteTarget): Config {
    if ('transactionId' in target) return this.transactionOf(target.transactionId).config;
    this.checkVersion(target.version);
    return this.live;
  }

  private transactionOf(id: string) {
    const transaction = this.transactions.get(id);
    if (!transaction) throw new DataPlaneError('NotFound', 'GET', id, 404, 'no such transaction');
    return transaction;
  }

  private checkVersion(version: number): void {
    if (version !== this.version) throw new DataPlaneError('Conflict', 'PUT', 'version', 409, `version mismatch: ${this.version} vs ${version}`);
  }

  private interlope(): void {
    const run = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    run?.();
  }
}

function runtimeOf(server: Server): RuntimeState {
  return { name: server.name, address: server.address, port: server.port ?? 0, admin_state: server.maintenance === 'enabled' ? 'maint' : 'ready' };
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function copy(config: Config): Config {
  return { frontends: new Map([...config.frontends].map(([k, v]) => [k, clone(v)])), backends: new Map([...config.backends].map(([k, v]) => [k, clone(v)])) };
}
