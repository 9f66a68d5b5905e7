import type { RequestOptions, WriteResult } from './dataplane/client.js';
import type { Server } from './dataplane/models.js';
import type { ServerChange } from './slots.js';

export type BackendServerChange = ServerChange & { readonly backend: string };

/** What the server writes need from the sink: the runtime call, and the file writes, which it serialises. */
export interface ServerWriter {
  /** Maintenance in or out through the runtime socket only: a few milliseconds, concurrent. */
  setAdminState(backend: string, name: string, state: 'ready' | 'maint', request: RequestOptions): Promise<unknown>;
  /** Adds or rewrites a server line: file and runtime, validated, ~100 ms; one at a time (versioned). */
  writeLine(backend: string, change: ServerChange, request: RequestOptions): Promise<{ result: WriteResult<Server>; fileBefore: Server | undefined }>;
}

export interface ServerWritesOutcome {
  readonly runtimeWrites: number;
  readonly fileWrites: number;
  readonly unexpectedReloads: number;
}

/** Runtime calls in flight at once per replica: enough to overlap round trips, few enough not to crowd one API. */
export const RUNTIME_CONCURRENCY = 4;

/**
 * Applies a plan's server changes, runtime first. A change that only moves a server into or out of
 * maintenance is a runtime call; an address change or a new server needs the file (the runtime
 * endpoints cannot do either), so those go one at a time through `writeLine`, beside the runtime
 * calls. Every server's own changes stay in order (a new server: added parked, then switched on),
 * and servers are parked only once every new one is in, so there is never a moment with fewer in
 * service than both sets have. The first failure is thrown once the calls in flight have ended,
 * and no park follows it: a failed update leaves the old servers serving.
 *
 * `serving` is what HAProxy serves now, per backend and server name; it is updated as writes land.
 */
export async function writeServers(
  changes: readonly BackendServerChange[],
  serving: Map<string, Map<string, Server>>,
  writer: ServerWriter,
  request: RequestOptions,
): Promise<ServerWritesOutcome> {
  const counts = { runtimeWrites: 0, fileWrites: 0, unexpectedReloads: 0 };
  const groups = groupByServer(changes);
  const isPark = (group: readonly BackendServerChange[]) => group.every((change) => change.op === 'update' && isRuntimeOnly(change) && inMaintenance(change.server));
  const entering = groups.filter((group) => !isPark(group));
  const parks = groups.filter(isPark);

  await settleAll([
    sequentially(entering.filter((group) => !group.every(isRuntimeOnly)), run),
    bounded(entering.filter((group) => group.every(isRuntimeOnly)), RUNTIME_CONCURRENCY, run),
  ]);
  await settleAll([bounded(parks, RUNTIME_CONCURRENCY, run)]);
  return counts;

  function isRuntimeOnly(change: BackendServerChange): boolean {
    const now = serving.get(change.backend)?.get(change.server.name);
    return change.op === 'update' && now !== undefined && now.address === change.server.address && (now.port ?? null) === (change.server.port ?? null);
  }

  async function run(group: readonly BackendServerChange[]): Promise<void> {
    for (const change of group) {
      const now = serving.get(change.backend)?.get(change.server.name);
      if (isRuntimeOnly(change)) {
        await writer.setAdminState(change.backend, change.server.name, inMaintenance(change.server) ? 'maint' : 'ready', request);
        counts.runtimeWrites += 1;
      } else {
        const { result, fileBefore } = await writer.writeLine(change.backend, change, request);
        counts.fileWrites += 1;
        if (result.effect !== 'live') counts.unexpectedReloads += 1;
        // The API moves the runtime state only where the file line changes it; a line that lagged
        // the runtime may already have said so.
        const stateWritten = fileBefore === undefined || inMaintenance(fileBefore) !== inMaintenance(change.server);
        if (!stateWritten && now !== undefined && inMaintenance(now) !== inMaintenance(change.server)) {
          await writer.setAdminState(change.backend, change.server.name, inMaintenance(change.server) ? 'maint' : 'ready', request);
          counts.runtimeWrites += 1;
        }
      }
      let servers = serving.get(change.backend);
      if (!servers) serving.set(change.backend, (servers = new Map()));
      servers.set(change.server.name, change.server);
    }
  }
}

function groupByServer(changes: readonly BackendServerChange[]): BackendServerChange[][] {
  const groups = new Map<string, BackendServerChange[]>();
  for (const change of changes) {
    const key = `${change.backend}/${change.server.name}`;
    const group = groups.get(key);
    if (group) group.push(change);
    else groups.set(key, [change]);
  }
  return [...groups.values()];
}

async function sequentially<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  for (const item of items) await run(item);
}

/** Runs at most `limit` at once; after a failure nothing new starts, and the first error is thrown once the rest have ended. */
async function bounded<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await run(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await settleAll(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function settleAll(work: ReadonlyArray<Promise<void>>): Promise<void> {
  const failure = (await Promise.allSettled(work)).find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
}

function inMaintenance(server: Server): boolean {
  return server.maintenance === 'enabled';
}
