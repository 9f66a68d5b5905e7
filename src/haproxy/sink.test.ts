import { describe, expect, it } from '@jest/globals';
import { captureLogger } from '../testing/fakes.js';
import { FakeDataPlane } from '../testing/fake-dataplane.js';
import { DataPlaneError } from './dataplane/errors.js';
import type { EndpointSliceLike } from '../model/objects.js';
import { DEFAULT_HAPROXY_POLICY, desiredHaproxy, type DesiredHaproxy, type ProxyProtocol } from './desired.js';
import { HaproxySink } from './sink.js';

const service = { metadata: { name: 'ingress-nginx-controller' }, spec: { ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } };

function desired(ips: string[], proxyProtocol: ProxyProtocol = 'v1'): DesiredHaproxy {
  const slice: EndpointSliceLike = { ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }], endpoints: ips.map((ip) => ({ addresses: [ip] })) };
  const ports = [80, 443].map((port) => ({ port, listenPort: port }));
  return desiredHaproxy([{ name: 'ingress', proxyProtocol, ports, target: { service, slices: [slice] } }], DEFAULT_HAPROXY_POLICY);
}

function setup() {
  const api = new FakeDataPlane();
  const { log, lines } = captureLogger();
  const sink = new HaproxySink(api, { fileQuietMs: 0 });
  return { api, lines, sink, apply: (want: DesiredHaproxy, dryRun = false) => sink.apply(want, { log, dryRun }) };
}

/** What HAProxy serves: its runtime. */
const serving = (api: FakeDataPlane, backend: string) => api.serving(backend);
/** What a reload would serve: the file. */
const inFile = (api: FakeDataPlane, backend: string) =>
  Object.values(api.live.backends.get(backend)?.servers ?? {}).filter((s) => s.maintenance !== 'enabled').map((s) => `${s.address}:${s.port}`).sort();

describe('HaproxySink', () => {
  it('builds an empty HAProxy in one transaction, then has nothing to do', async () => {
    const { api, apply } = setup();
    const first = await apply(desired(['10.0.0.1', '10.0.0.2']));
    expect(first).toMatchObject({ action: 'reload', writes: 4 });
    expect(first.reasons).toEqual(expect.arrayContaining(['create backend hairpin_ingress_80: new backend', 'create frontend hairpin_frontend_443: new frontend']));
    expect(api.reloads).toBe(1);
    expect(serving(api, 'hairpin_ingress_443')).toEqual(['10.0.0.1:443', '10.0.0.2:443']);
    expect(api.live.frontends.get('hairpin_frontend_80')).toMatchObject({ mode: 'tcp', default_backend: 'hairpin_ingress_80', binds: { port_80: { port: 80 } } });

    expect(await apply(desired(['10.0.0.1', '10.0.0.2']))).toMatchObject({ action: 'unchanged', writes: 0 });
    expect(api.version).toBe(2);
  });

  it('follows endpoint churn through the runtime API, never reloading', async () => {
    const { api, apply } = setup();
    await apply(desired(['10.0.0.1', '10.0.0.2']));
    const history = [['10.0.0.1'], ['10.0.0.1', '10.0.0.3'], ['10.0.0.4', '10.0.0.5', '10.0.0.6'], [], ['10.0.0.2']];
    for (const ips of history) {
      const outcome = await apply(desired(ips));
      expect(outcome).toMatchObject({ action: 'runtime', unexpectedReloads: 0 });
      expect(serving(api, 'hairpin_ingress_80')).toEqual(ips.map((ip) => `${ip}:80`));
    }
    expect(api.reloads).toBe(1);
  });

  it('reloads, saying why, when the PROXY protocol version changes', async () => {
    const { api, apply } = setup();
    await apply(desired(['10.0.0.1']));
    const outcome = await apply(desired(['10.0.0.1'], 'v2'));
    expect(outcome.action).toBe('reload');
    expect(outcome.reasons.join('\n')).toMatch(/send-proxy.* wants/);
    expect(api.live.backends.get('hairpin_ingress_80')?.servers?.slot1).toMatchObject({ 'send-proxy-v2': 'enabled', 'send-proxy': 'disabled' });
  });

  it('repairs a section somebody edited by hand', async () => {
    const { api, apply } = setup();
    await apply(desired(['10.0.0.1']));
    const backend = api.live.backends.get('hairpin_ingress_80');
    if (!backend) throw new Error('the first sync made no backend');
    backend.server_timeout = 1;
    const outcome = await apply(desired(['10.0.0.1']));
    expect(outcome.reasons).toEqual(['replace backend hairpin_ingress_80: backend hairpin_ingress_80: server_timeout is 1, wants 60000']);
    expect(api.live.backends.get('hairpin_ingress_80')?.server_timeout).toBe(60_000);
  });

  it("leaves the operator's own sections alone and removes only its own leftovers", async () => {
    const { api, apply } = setup();
    api.live.frontends.set('stats', { name: 'stats', mode: 'http' });
    api.live.backends.set('hairpin_ingress_8080', { name: 'hairpin_ingress_8080', mode: 'tcp' });
    const outcome = await apply(desired(['10.0.0.1']));
    expect(outcome.reasons).toContain('delete backend hairpin_ingress_8080: backend no longer wanted');
    expect(api.live.frontends.has('stats')).toBe(true);
    expect(api.live.backends.has('hairpin_ingress_8080')).toBe(false);
  });

  it('re-reads and re-plans when another writer got in first (409)', async () => {
    const { api, apply } = setup();
    await apply(desired(['10.0.0.1']));
    api.beforeNextWrite = () => {
      api.version += 1;
    };
    const outcome = await apply(desired(['10.0.0.2']));
    expect(outcome).toMatchObject({ action: 'runtime', attempts: 2 });
    expect(serving(api, 'hairpin_ingress_80')).toEqual(['10.0.0.2:80']);
  });

  it('keeps the old configuration serving when the new one is refused', async () => {
    const { api, apply } = setup();
    await apply(desired(['10.0.0.1']));
    const before = await api.snapshot();
    api.rejectCommits = 'haproxy -c: config error';
    await expect(apply(desired(['10.0.0.1'], 'v2'))).rejects.toThrow(DataPlaneError);
    expect(await api.snapshot()).toEqual(before);
  });

  it('gives up after a few conflicts in a row, for the work queue to retry later', async () => {
    const { api, apply } = setup();
    const bump = () => {
      api.version += 1;
      api.beforeNextWrite = bump;
    };
    api.beforeNextWrite = bump;
    const error = await apply(desired(['10.0.0.1'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataPlaneError);
    expect(['Conflict', 'OutdatedTransaction']).toContain((error as DataPlaneError).kind);
  });

  it('discards transactions a restarted Data Plane API left open before it opens its own', async () => {
    const { api, apply, lines } = setup();
    await apply(desired(['10.0.0.1']));
    // A Data Plane API killed in the middle of a write keeps that write's transaction "in progress".
    const orphans = await Promise.all([api.startTransaction(api.version), api.startTransaction(api.version)]);
    expect((await api.listTransactions('in_progress')).map((t) => t.id)).toEqual(orphans.map((t) => t.id));
    expect(await apply(desired(['10.0.0.1'], 'v2'))).toMatchObject({ action: 'reload' });
    expect(await api.listTransactions('in_progress')).toEqual([]);
    expect(lines().filter((line) => line.msg === 'discarded transactions left open')).toEqual([expect.objectContaining({ count: 2 })]);
  });

  it('writes nothing in a dry run, and says what it would do', async () => {
    const { api, apply } = setup();
    const outcome = await apply(desired(['10.0.0.1']), true);
    expect(outcome.action).toBe('dry-run');
    expect(outcome.reasons.length).toBe(4);
    expect(api.version).toBe(1);
  });
});

describe('HaproxySink: runtime first, the file after', () => {
  const b80 = 'hairpin_ingress_80';
  const b443 = 'hairpin_ingress_443';
  /** Five slots: with one endpoint, no spare is left (SPARE_SLOTS). */
  const FIVE = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];

  /** A replica built from `before` (one reload), its file caught up, and the call log cleared. */
  async function from(before: string[]) {
    const context = setup();
    await context.apply(desired(before));
    await context.apply(desired(before));
    await context.sink.flush();
    context.api.calls.length = 0;
    return context;
  }

  it.each([
    {
      change: 'nothing changed',
      before: ['10.0.0.1', '10.0.0.2'],
      after: ['10.0.0.1', '10.0.0.2'],
      sync: ['GET version', `GET runtime ${b80}`, `GET runtime ${b443}`],
      file: [],
    },
    {
      change: 'an endpoint goes: parked at runtime, the file follows',
      before: ['10.0.0.1', '10.0.0.2'],
      after: ['10.0.0.1'],
      sync: ['GET version', `GET runtime ${b80}`, `GET runtime ${b443}`, `PUT runtime ${b80}/slot2 maint`, `PUT runtime ${b443}/slot2 maint`],
      file: [`PUT server ${b80}/slot2`, `PUT server ${b443}/slot2`],
    },
    {
      change: 'a parked endpoint returns: back in rotation at runtime',
      before: ['10.0.0.1'],
      after: ['10.0.0.1', '10.0.0.2'],
      prepare: ['10.0.0.1', '10.0.0.2'],
      sync: ['GET version', `GET runtime ${b80}`, `GET runtime ${b443}`, `PUT runtime ${b80}/slot2 ready`, `PUT runtime ${b443}/slot2 ready`],
      file: [`PUT server ${b80}/slot2`, `PUT server ${b443}/slot2`],
    },
    {
      change: 'one endpoint more than slots: added to the file parked, then switched on at runtime',
      before: ['10.0.0.1'],
      after: ['10.0.0.1', '10.0.0.2'],
      sync: ['GET version', `GET runtime ${b80}`, `GET runtime ${b443}`, `POST server ${b80}/slot2`, `PUT runtime ${b80}/slot2 ready`, `POST server ${b443}/slot2`, `PUT runtime ${b443}/slot2 ready`],
      file: [`PUT server ${b80}/slot2`, `PUT server ${b443}/slot2`],
    },
    {
      change: 'an endpoint replaced, spares left: a new slot, the old one parked with its address',
      before: ['10.0.0.1'],
      after: ['10.0.0.3'],
      sync: [
        ...['GET version', `GET runtime ${b80}`, `GET runtime ${b443}`],
        ...[`POST server ${b80}/slot2`, `PUT runtime ${b80}/slot2 ready`, `POST server ${b443}/slot2`, `PUT runtime ${b443}/slot2 ready`],
        ...[`PUT runtime ${b80}/slot1 maint`, `PUT runtime ${b443}/slot1 maint`],
      ],
      file: [`PUT server ${b80}/slot1`, `PUT server ${b443}/slot1`, `PUT server ${b80}/slot2`, `PUT server ${b443}/slot2`],
    },
    {
      change: 'an endpoint replaced, no spares left: a parked slot gets the new address through the file',
      prepare: FIVE,
      before: ['10.0.0.1'],
      after: ['10.0.0.9'],
      sync: [
        ...['GET version', `GET runtime ${b80}`, `GET runtime ${b443}`],
        ...[`PUT server ${b80}/slot2`, `PUT server ${b443}/slot2`],
        ...[`PUT runtime ${b80}/slot1 maint`, `PUT runtime ${b443}/slot1 maint`],
      ],
      file: [`PUT server ${b80}/slot1`, `PUT server ${b443}/slot1`],
    },
  ])('$change', async ({ before, after, prepare, sync, file }) => {
    const { api, apply, sink } = await from(prepare ?? before);
    if (prepare) {
      await apply(desired(before));
      await sink.flush();
      api.calls.length = 0;
    }
    const reloads = api.reloads;
    await apply(desired(after));
    expect(api.calls).toEqual(sync);
    expect(serving(api, b80)).toEqual(after.map((ip) => `${ip}:80`));
    api.calls.length = 0;
    await sink.flush();
    // The file follows in no particular order.
    expect([...api.calls].sort()).toEqual([...file].sort());
    expect(inFile(api, b80)).toEqual(after.map((ip) => `${ip}:80`));
    expect(api.reloads).toBe(reloads);
  });

  it('reads the whole configuration again only when its version moved under it', async () => {
    const { api, apply } = await from(['10.0.0.1']);
    await apply(desired(['10.0.0.1']));
    expect(api.calls).not.toContain('GET snapshot');
    api.version += 1;
    await apply(desired(['10.0.0.1']));
    expect(api.calls.filter((call) => call === 'GET snapshot')).toHaveLength(1);
  });

  it('plans from what HAProxy serves, not from a file that lags it', async () => {
    const { api, apply } = await from(['10.0.0.1', '10.0.0.2']);
    // Somebody (or a sync cut short before the file followed) took slot2 out at runtime only.
    await api.setServerAdminState(b80, 'slot2', 'maint');
    api.calls.length = 0;
    await apply(desired(['10.0.0.1', '10.0.0.2']));
    expect(api.calls).toContain(`PUT runtime ${b80}/slot2 ready`);
    expect(serving(api, b80)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  });

  it('writes the runtime states into the file with a reload that comes before the file followed', async () => {
    const { api, apply } = await from(['10.0.0.1', '10.0.0.2']);
    await apply(desired(['10.0.0.1']));
    const outcome = await apply(desired(['10.0.0.1'], 'v2'));
    expect(outcome.action).toBe('reload');
    expect(serving(api, b80)).toEqual(['10.0.0.1:80']);
    expect(serving(api, b443)).toEqual(['10.0.0.1:443']);
  });

  it.each([
    { failing: `PUT runtime ${b80}/slot1 ready`, what: 'the runtime call that brings a returning endpoint back', before: ['10.0.0.2'], after: ['10.0.0.1'], prepare: ['10.0.0.1', '10.0.0.2'] },
    { failing: `PUT server ${b80}/slot2`, what: 'the file write that gives a slot its new address', prepare: FIVE, before: ['10.0.0.1'], after: ['10.0.0.9'] },
    { failing: `POST server ${b80}/slot3`, what: 'the file write that adds a slot', before: ['10.0.0.1', '10.0.0.2'], after: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] },
  ])('a failed call ($what) leaves the old servers serving, and the next sync converges', async ({ failing, before, after, prepare }) => {
    const { api, apply, sink } = await from(prepare ?? before);
    if (prepare) {
      await apply(desired(before));
      await sink.flush();
    }
    api.failCall = (call) => (call === failing ? new DataPlaneError('Unavailable', 'PUT', call, 503, 'HAProxy is busy') : undefined);
    await expect(apply(desired(after))).rejects.toThrow('HAProxy is busy');
    expect(serving(api, b80)).toEqual(expect.arrayContaining(before.map((ip) => `${ip}:80`)));
    api.failCall = undefined;
    await apply(desired(after));
    await sink.flush();
    expect(serving(api, b80)).toEqual(after.map((ip) => `${ip}:80`));
    expect(inFile(api, b80)).toEqual(after.map((ip) => `${ip}:80`));
  });

  it('a failed file write is retried by the next sync, from a fresh read', async () => {
    const { api, apply, sink, lines } = await from(['10.0.0.1', '10.0.0.2']);
    api.failCall = (call) => (call.startsWith('PUT server') ? new DataPlaneError('Unavailable', 'PUT', call, 503, 'HAProxy is busy') : undefined);
    await apply(desired(['10.0.0.1']));
    await sink.flush();
    expect(lines().filter((line) => String(line.msg).startsWith('could not write server states'))).toHaveLength(1);
    expect(inFile(api, b80)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    api.failCall = undefined;
    api.calls.length = 0;
    await apply(desired(['10.0.0.1']));
    await sink.flush();
    expect(api.calls).toContain('GET snapshot');
    expect(inFile(api, b80)).toEqual(['10.0.0.1:80']);
  });
});

describe('HaproxySink: the file waits for a quiet replica', () => {
  it('writes no line while syncs keep coming, and every owed line once they stop', async () => {
    const api = new FakeDataPlane();
    const { log } = captureLogger();
    const sink = new HaproxySink(api, { fileQuietMs: 40, fileMaxLagMs: 10_000 });
    const apply = (ips: string[]) => sink.apply(desired(ips), { log, dryRun: false });
    await apply(['10.0.0.1', '10.0.0.2']);
    api.calls.length = 0;
    for (const ips of [['10.0.0.1'], ['10.0.0.2'], ['10.0.0.1', '10.0.0.2'], ['10.0.0.2']]) {
      await apply(ips);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(api.calls.filter((call) => call.startsWith('PUT server'))).toEqual([]);
    await sink.flush();
    expect(api.calls.filter((call) => call.startsWith('PUT server')).length).toBeGreaterThan(0);
    expect(inFile(api, 'hairpin_ingress_80')).toEqual(serving(api, 'hairpin_ingress_80'));
  });

  it('under churn longer than the lag bound, writes one line per bound, not one after another', async () => {
    const api = new FakeDataPlane();
    const { log } = captureLogger();
    const sink = new HaproxySink(api, { fileQuietMs: 1_000, fileMaxLagMs: 60 });
    const apply = (ips: string[]) => sink.apply(desired(ips), { log, dryRun: false });
    await apply(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    api.calls.length = 0;
    const started = performance.now();
    for (let i = 0; performance.now() - started < 250; i++) {
      await apply(i % 2 === 0 ? ['10.0.0.1'] : ['10.0.0.2', '10.0.0.3']);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const written = api.calls.filter((call) => call.startsWith('PUT server')).length;
    expect(written).toBeGreaterThanOrEqual(1);
    expect(written).toBeLessThanOrEqual(5);
  });
});
