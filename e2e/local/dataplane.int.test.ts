// The Data Plane API client against the real dataplaneapi (v3) and the real HAProxy 2.6, started
// by the shared harness on random loopback ports. Skips, saying why, when a binary is missing.
import assert from 'node:assert/strict';
import { createConnection, createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { HarnessDataPlaneClient } from '../harness/index.js';
import { DataPlaneError } from '../../src/haproxy/dataplane/errors.js';
import { cleanupAll, dataplaneTools, freePort, makeTmpDir, startDataplane, withLogs, type LocalDataplane } from '../harness/index.js';

const tools = await dataplaneTools();
if (!tools.ok) console.warn(`dataplane integration tests skipped: ${tools.reason}`);

async function rejection(promise: Promise<unknown>): Promise<DataPlaneError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DataPlaneError)) throw new Error(`expected a DataPlaneError, got ${String(error)}`);
  return error;
}

const PROXY_V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

(tools.ok ? describe : describe.skip)('Data Plane API v3 + HAProxy 2.6 (real processes)', () => {
  let dp: LocalDataplane | undefined;
  let api: HarnessDataPlaneClient;
  const local = (): LocalDataplane => {
    assert(dp, 'beforeAll did not start the processes');
    return dp;
  };
  const upstreams: NetServer[] = [];

  beforeAll(withLogs(async () => {
    dp = await startDataplane({ tmpDir: makeTmpDir('dataplane') });
    api = local().client();
  }), 60_000);

  afterAll(async () => {
    await Promise.all(upstreams.map((s) => new Promise((resolve) => s.close(resolve))));
    await cleanupAll();
  });

  it('reports its version and the configuration version', async () => {
    expect((await api.info()).api?.version).toMatch(/^v3\.0\./);
    expect(await api.configurationVersion()).toBeGreaterThanOrEqual(1);
  });

  it('creates a frontend, a backend and its servers in one transaction, live after the commit', async () => {
    // An upstream that records the first bytes of each connection, to see the PROXY v2 header.
    const received: Buffer[] = [];
    const upstream = createServer((socket) =>
      socket.once('data', (data) => {
        received.push(data);
        socket.end();
      }),
    );
    upstreams.push(upstream);
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const frontPort = await freePort();
    const workerBefore = await local().workerPid();

    const tx = await api.startTransaction(await api.configurationVersion());
    const target = { transactionId: tx.id };
    await api.createBackend({ name: 'be_app', mode: 'tcp', balance: { algorithm: 'roundrobin' } }, target);
    const s1 = await api.createServer('be_app', { name: 's1', address: '127.0.0.1', port: upstreamPort, 'send-proxy-v2': 'enabled' }, target);
    await api.createServer('be_app', { name: 's2', address: '127.0.0.1', port: upstreamPort, 'send-proxy-v2': 'enabled' }, target);
    await api.createFrontend({ name: 'fe_app', mode: 'tcp', default_backend: 'be_app' }, target);
    await api.createBind('fe_app', { name: 'b1', address: '127.0.0.1', port: frontPort }, target);
    expect(s1.effect).toBe('staged');
    expect(await api.listServers('be_app', target)).toHaveLength(2);
    await expect(api.getBackend('be_app')).rejects.toMatchObject({ kind: 'NotFound' });

    const commit = await api.commitTransaction(tx.id);
    assert(commit.effect === 'reload-scheduled');
    expect((await api.waitForReload(commit.reloadId)).status).toBe('succeeded');
    expect(await local().workerPid()).not.toBe(workerBefore);

    const snapshot = await api.snapshot();
    expect(snapshot.version).toBe(await api.configurationVersion());
    expect(snapshot.frontends.find((f) => f.name === 'fe_app')?.binds?.b1).toMatchObject({ port: frontPort });
    expect(Object.keys(snapshot.backends.find((b) => b.name === 'be_app')?.servers ?? {}).sort()).toEqual(['s1', 's2']);

    const client = createConnection(frontPort, '127.0.0.1', () => client.write('hello'));
    client.on('error', () => undefined);
    for (let i = 0; i < 100 && received.length === 0; i++) await sleep(50);
    client.destroy();
    expect(received[0]?.subarray(0, 12)).toEqual(PROXY_V2_SIGNATURE);
  });

  it('answers a write with a stale version with Conflict', async () => {
    const version = await api.configurationVersion();
    const error = await rejection(api.createServer('be_app', { name: 'stale', address: '127.0.0.1', port: 9 }, { version: version - 1 }));
    expect(error).toMatchObject({ kind: 'Conflict', status: 409 });
    expect(error.apiMessage).toContain('version mismatch');
    expect(await api.configurationVersion()).toBe(version);
  });

  it('refuses to commit a transaction the configuration has moved past', async () => {
    const version = await api.configurationVersion();
    const first = await api.startTransaction(version);
    const second = await api.startTransaction(version);
    await api.replaceBackend('be_app', { name: 'be_app', mode: 'tcp', balance: { algorithm: 'leastconn' } }, { transactionId: first.id });
    const workerBefore = await local().workerPid();
    // forceReload: the reply comes after the reload has run, with no reload id to wait for.
    expect(await api.commitNow(first.id)).toMatchObject({ effect: 'reloaded' });
    expect(await local().workerPid()).not.toBe(workerBefore);
    const outdated = await rejection(api.commitTransaction(second.id));
    expect(outdated).toMatchObject({ kind: 'OutdatedTransaction', status: 406 });

    // Moved on by a direct write instead of a commit: 409 at the first commit, 406 after.
    const third = await api.startTransaction(await api.configurationVersion());
    await api.replaceBackend('be_app', { name: 'be_app', mode: 'tcp', balance: { algorithm: 'roundrobin' } }, { version: await api.configurationVersion() });
    expect(await rejection(api.commitTransaction(third.id))).toMatchObject({ kind: 'Conflict' });
    expect(await rejection(api.commitTransaction(third.id))).toMatchObject({ kind: 'OutdatedTransaction' });
  });

  it('answers 429 past the open-transaction limit, and open transactions can be cleaned up', async () => {
    const version = await api.configurationVersion();
    let error: DataPlaneError | undefined;
    for (let i = 0; i < 25 && !error; i++) {
      error = await api.startTransaction(version).then(() => undefined, (e: unknown) => e as DataPlaneError);
    }
    expect(error).toMatchObject({ kind: 'TooManyTransactions', status: 429 });
    for (const tx of await api.listTransactions('in_progress')) await api.deleteTransaction(tx.id as string);
    expect(await api.listTransactions('in_progress')).toEqual([]);
  });

  it('rejects wrong credentials as Unauthorized, without retrying', async () => {
    const retries: unknown[] = [];
    const error = await rejection(local().client({ password: 'wrong', onRetry: (r) => retries.push(r) }).info());
    expect(error).toMatchObject({ kind: 'Unauthorized', status: 401 });
    expect(retries).toEqual([]);
  });

  it('adds, changes, disables and removes servers at runtime without a reload', async () => {
    // Let any reload still batched from the tests above run before counting.
    await sleep(1_500);
    const reloadsBefore = (await api.listReloads()).length;
    const workerBefore = await local().workerPid();

    const version = await api.configurationVersion();
    const added = await api.createServer('be_app', { name: 's3', address: '127.0.0.1', port: 9 }, { version });
    expect(added).toMatchObject({ effect: 'live', version: version + 1 });
    expect(await api.getRuntimeServer('be_app', 's3')).toMatchObject({ admin_state: 'ready', address: '127.0.0.1', port: 9 });

    // Chained on the version the last write returned, no re-read.
    const moved = await api.replaceServer('be_app', 's3', { name: 's3', address: '127.0.0.2', port: 10, maintenance: 'disabled' }, { version: added.version ?? 0 });
    expect(moved).toMatchObject({ effect: 'live', version: version + 2 });
    expect(await api.getRuntimeServer('be_app', 's3')).toMatchObject({ address: '127.0.0.2', port: 10 });

    expect(await api.setRuntimeServer('be_app', 's3', { admin_state: 'maint' })).toMatchObject({ admin_state: 'maint' });
    expect(await api.setRuntimeServer('be_app', 's3', { admin_state: 'ready' })).toMatchObject({ admin_state: 'ready' });

    await api.addRuntimeServer('be_app', { name: 'r1', address: '127.0.0.1', port: 11 });
    expect((await api.listRuntimeServers('be_app')).map((s) => [s.name, s.admin_state])).toContainEqual(['r1', 'ready']);
    await api.deleteRuntimeServer('be_app', 'r1');
    expect((await api.listRuntimeServers('be_app')).map((s) => s.name)).not.toContain('r1');

    await sleep(1_500); // past reload_delay, so a scheduled reload would have shown up
    expect((await api.listReloads()).length).toBe(reloadsBefore);
    expect(await local().workerPid()).toBe(workerBefore);

    // Removing a server from the file always reloads: the API has no runtime path for it.
    const removed = await api.deleteServer('be_app', 's3', { version: await api.configurationVersion() });
    assert(removed.effect === 'reload-scheduled');
    await api.waitForReload(removed.reloadId);
    expect(await local().workerPid()).not.toBe(workerBefore);
  });

  it('reports the API being down as Unavailable, after bounded retries', async () => {
    await local().api.stop();
    const retries: unknown[] = [];
    const error = await rejection(local().client({ maxAttempts: 3, baseDelayMs: 10, onRetry: (r) => retries.push(r) }).configurationVersion());
    expect(error).toMatchObject({ kind: 'Unavailable', status: undefined });
    expect(error.apiMessage).toContain('ECONNREFUSED');
    expect(retries).toHaveLength(2);
  });
});
