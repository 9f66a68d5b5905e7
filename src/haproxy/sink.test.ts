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
  const sink = new HaproxySink(api);
  return { api, lines, sink, apply: (want: DesiredHaproxy, dryRun = false) => sink.apply(want, { log, dryRun }) };
}

const serving = (api: FakeDataPlane, backend: string) =>
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
