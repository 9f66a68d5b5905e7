import { describe, expect, it } from '@jest/globals';
import { Cancelled } from '../cancel.js';
import { KubeError } from '../kube/errors.js';
import type { Snapshot } from '../model/objects.js';
import { anIngress } from '../testing/builders.js';
import { captureLogger, FakeConfigMapStore, FakeEventRecorder } from '../testing/fakes.js';
import { CorednsSink } from '../coredns/sink.js';
import { DEFAULT_HAPROXY_POLICY } from '../haproxy/desired.js';
import type { Replica } from '../haproxy/replicas.js';
import { HaproxySink } from '../haproxy/sink.js';
import { FakeDataPlane } from '../testing/fake-dataplane.js';
import type { RoutePolicy } from '../plan/routes.js';
import { CONFIGMAP_MAX_BYTES } from '../coredns/fit.js';
import { COREDNS_KEY, Controller, dnsWritePacing } from './controller.js';

const corefile = '.:53 {\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n    forward . /etc/resolv.conf\n}\n';
const target = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
const policy: RoutePolicy = {
  ingressClasses: [],
  mode: { kind: 'single', upstream: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' }, proxyProtocol: 'v1' },
  hairpin: { namespace: 'hairpin-proxy', service: 'hairpin-proxy-haproxy', clusterDomain: 'cluster.local', ports: [80] },
  optIn: false,
  rewriteWhenIpModeProxy: false,
};

function setup(initial: Snapshot, options: { dryRun?: boolean; otherKeys?: Record<string, string> } = {}) {
  const store = new FakeConfigMapStore({ Corefile: corefile, ...options.otherKeys });
  const events = new FakeEventRecorder();
  const { log, lines } = captureLogger();
  let snapshot = initial;
  const controller = new Controller({
    snapshot: () => snapshot,
    policy,
    coredns: new CorednsSink(store, 'Corefile'),
    events,
    log,
    dryRun: options.dryRun ?? false,
  });
  return { store, events, lines, controller, setSnapshot: (next: Snapshot) => (snapshot = next) };
}

describe('Controller', () => {
  it('routes every Ingress host through the Corefile', async () => {
    const { store, controller } = setup({ ingresses: [anIngress('shop', { hosts: ['shop.example.com'], tlsHosts: ['*.shop.example.com'] })], ingressClasses: [] });
    const result = await controller.sync(COREDNS_KEY);
    expect(result.outcome.action).toBe('updated');
    expect(store.data?.Corefile).toContain('shop');
    expect(controller.hasSyncedDns()).toBe(true);
  });

  it('follows the Ingresses: removing the last one restores the original Corefile exactly', async () => {
    const { store, controller, setSnapshot } = setup({ ingresses: [anIngress('a', { hosts: ['a.example.com'] })], ingressClasses: [] });
    await controller.sync(COREDNS_KEY);
    setSnapshot({ ingresses: [], ingressClasses: [] });
    await controller.sync(COREDNS_KEY);
    expect(store.data?.Corefile).toBe(corefile);
  });

  it('is a no-op when nothing changed', async () => {
    const { store, controller } = setup({ ingresses: [anIngress('a', { hosts: ['a.example.com'] })], ingressClasses: [] });
    await controller.sync(COREDNS_KEY);
    const second = await controller.sync(COREDNS_KEY);
    expect(second.outcome.action).toBe('unchanged');
    expect(store.writes).toBe(1);
  });

  it('never writes an invalid host, warns, and records an Event on its Ingress', async () => {
    const { store, events, lines, controller } = setup({
      ingresses: [anIngress('bad', { namespace: 'shop', hosts: ['ok.example.com', 'evil.example.com }\n. {'] })],
      ingressClasses: [],
    });
    await controller.sync(COREDNS_KEY);
    expect(store.data?.Corefile).not.toContain('evil');
    expect(events.events).toContainEqual(expect.objectContaining({ object: 'Ingress/shop/bad', type: 'Warning', reason: 'InvalidHost' }));
    expect(lines().some((line) => line.msg === 'skipping an invalid host' && line.level === 'warn')).toBe(true);
  });

  it('tags every log line of a sync with the same sync id', async () => {
    const { lines, controller } = setup({ ingresses: [anIngress('a', { hosts: ['a.example.com'] })], ingressClasses: [] });
    const { syncId } = await controller.sync(COREDNS_KEY);
    const syncLines = lines().filter((line) => line.key === COREDNS_KEY);
    expect(syncLines.length).toBeGreaterThanOrEqual(2);
    expect(new Set(syncLines.map((line) => line.syncId))).toEqual(new Set([syncId]));
  });

  it('writes nothing in a dry run', async () => {
    const { store, controller } = setup({ ingresses: [anIngress('a', { hosts: ['a.example.com'] })], ingressClasses: [] }, { dryRun: true });
    expect((await controller.sync(COREDNS_KEY)).outcome.action).toBe('dry-run');
    expect(store.writes).toBe(0);
  });

  it('fails loudly on an unknown key', async () => {
    const { controller } = setup({ ingresses: [], ingressClasses: [] });
    await expect(controller.sync('nonsense')).rejects.toThrow(/unknown sync key/);
  });
});

describe('Controller reports findings once', () => {
  const twoBad = anIngress('bad', { namespace: 'shop', hosts: ['ok.example.com', 'bad_host.example.com', '*.*.example.com'] });
  const messages = (lines: () => Array<Record<string, unknown>>, msg: string) => lines().filter((line) => line.msg === msg);

  it('warns about each refused host once, however many syncs see it, and records one Event per Ingress', async () => {
    const { events, lines, controller, setSnapshot } = setup({ ingresses: [twoBad], ingressClasses: [] });
    for (let i = 0; i < 20; i++) {
      setSnapshot({ ingresses: [twoBad, anIngress(`churn-${i}`, { hosts: [`c${i}.example.com`] })], ingressClasses: [] });
      await controller.sync(COREDNS_KEY);
    }
    expect(messages(lines, 'skipping an invalid host').map((line) => line.host)).toEqual(['*.*.example.com', 'bad_host.example.com']);
    const invalid = events.events.filter((event) => event.reason === 'InvalidHost');
    expect(invalid).toEqual([expect.objectContaining({ object: 'Ingress/shop/bad', type: 'Warning' })]);
    expect(invalid[0]?.message).toMatch(/2 hosts: "\*\.\*\.example\.com" .*; "bad_host.example.com"/);
  });

  it('reports an Ingress again when its refused hosts change', async () => {
    const { events, lines, controller, setSnapshot } = setup({ ingresses: [twoBad], ingressClasses: [] });
    await controller.sync(COREDNS_KEY);
    setSnapshot({ ingresses: [anIngress('bad', { namespace: 'shop', hosts: ['bad_host.example.com'] })], ingressClasses: [] });
    await controller.sync(COREDNS_KEY);
    setSnapshot({ ingresses: [anIngress('bad', { namespace: 'shop', hosts: ['bad_host.example.com', 'x_y.example.com'] })], ingressClasses: [] });
    await controller.sync(COREDNS_KEY);
    expect(messages(lines, 'skipping an invalid host').map((line) => line.host)).toEqual(['*.*.example.com', 'bad_host.example.com', 'x_y.example.com']);
    expect(events.events.filter((event) => event.reason === 'InvalidHost').map((event) => event.message)).toEqual([
      expect.stringContaining('2 hosts'),
      expect.stringContaining('host "bad_host.example.com"'),
      expect.stringContaining('2 hosts'),
    ]);
  });

  it('records a Normal CorefileUpdated Event for each write, for the recorder to fold into one', async () => {
    const { events, controller, setSnapshot } = setup({ ingresses: [anIngress('a', { hosts: ['a.example.com'] })], ingressClasses: [] });
    await controller.sync(COREDNS_KEY);
    await controller.sync(COREDNS_KEY);
    setSnapshot({ ingresses: [], ingressClasses: [] });
    await controller.sync(COREDNS_KEY);
    expect(events.events.filter((event) => event.reason === 'CorefileUpdated').map((event) => [event.object, event.type, event.message])).toEqual([
      ['ConfigMap/kube-system/coredns', 'Normal', `hairpin-proxy routes 1 hosts to ${target} (ConfigMap kube-system/coredns key Corefile)`],
      ['ConfigMap/kube-system/coredns', 'Normal', `hairpin-proxy routes 0 hosts to ${target} (ConfigMap kube-system/coredns key Corefile)`],
    ]);
  });

  const failures: ReadonlyArray<[what: string, breakIt: (store: FakeConfigMapStore) => void, reason: string]> = [
    ['a malformed Corefile', (store) => store.edit('Corefile', '.:53 {\n    errors\n'), 'InvalidCorefile'],
    ['a Corefile key gone', (store) => (store.data = { other: '' }), 'CorefileSyncFailed'],
    ['the ConfigMap gone', (store) => (store.data = undefined), 'CorefileSyncFailed'],
    ['a write refused as too long', (store) => (store.rejectWrites = new KubeError('Invalid', 'update ConfigMap', 422, 'Too long: must have at most 1048576 bytes')), 'CorefileSyncFailed'],
    ['the apiserver away', (store) => (store.failNextReads = 100), 'CorefileSyncFailed'],
  ];
  it.each(failures)('%s: logs one error for the streak, a Warning Event per failure, and one line when it recovers', async (_what, breakIt, reason) => {
    const { store, events, lines, controller } = setup({ ingresses: [anIngress('a', { hosts: ['a.example.com'] })], ingressClasses: [] });
    const good = store.data;
    breakIt(store);
    for (let i = 0; i < 5; i++) await expect(controller.sync(COREDNS_KEY)).rejects.toThrow();
    expect(messages(lines, 'sync failed').map((line) => line.level)).toEqual(['error', 'debug', 'debug', 'debug', 'debug']);
    expect(events.events.filter((event) => event.type === 'Warning')).toEqual(Array(5).fill(expect.objectContaining({ object: 'ConfigMap/kube-system/coredns', reason })));
    store.data = good;
    store.failNextReads = 0;
    store.rejectWrites = undefined;
    await controller.sync(COREDNS_KEY);
    expect(messages(lines, 'sync recovered')).toEqual([expect.objectContaining({ failedSyncs: 5, level: 'info' })]);
  });

  it('treats a cancelled sync as no failure: no error line, no Event, not counted', async () => {
    const { store, events, lines, controller } = setup({ ingresses: [anIngress('a', { hosts: ['a.example.com'] })], ingressClasses: [] });
    const abort = new AbortController();
    store.beforeNextWrite = () => abort.abort(new Cancelled('the leader lease was lost'));
    await expect(controller.sync(COREDNS_KEY, abort.signal)).rejects.toBeInstanceOf(Cancelled);
    expect(store.writes).toBe(0);
    expect(events.events).toEqual([]);
    expect(messages(lines, 'sync failed')).toEqual([]);
    expect(messages(lines, 'sync cancelled')).toEqual([expect.objectContaining({ level: 'info' })]);
  });
});

describe('Controller with the hairpin HAProxy', () => {
  const service = { metadata: { name: 'ingress-nginx-controller' }, spec: { ports: [{ name: 'http', port: 80 }] } };
  const slice = (ips: string[]) => ({ ports: [{ name: 'http', port: 80 }], endpoints: ips.map((ip) => ({ addresses: [ip] })) });

  function setupHaproxy() {
    const { log, lines } = captureLogger();
    const api = new FakeDataPlane();
    let replicas: Replica[] = [{ key: 'haproxy/http://10.0.0.9:5555/v3', url: 'http://10.0.0.9:5555/v3' }];
    let ips = ['10.1.0.1'];
    const controller = new Controller({
      snapshot: () => ({ ingresses: [], ingressClasses: [] }),
      policy,
      coredns: new CorednsSink(new FakeConfigMapStore({ Corefile: corefile }), 'Corefile'),
      events: new FakeEventRecorder(),
      log,
      dryRun: false,
      haproxy: {
        policy: DEFAULT_HAPROXY_POLICY,
        target: () => ({ service, slices: [slice(ips)] }),
        replicas: () => replicas,
        sinkFor: () => new HaproxySink(api),
        flush: () => Promise.resolve(),
        service: { kind: 'Service', apiVersion: 'v1', namespace: 'hairpin-proxy', name: 'hairpin-proxy-haproxy' },
      },
    });
    return { api, lines, controller, setReplicas: (next: Replica[]) => (replicas = next), setIps: (next: string[]) => (ips = next) };
  }

  it('has one key per replica besides the CoreDNS key', () => {
    const { controller } = setupHaproxy();
    expect(controller.keys()).toEqual([COREDNS_KEY, 'haproxy/http://10.0.0.9:5555/v3']);
    expect(controller.haproxyKeys()).toEqual(['haproxy/http://10.0.0.9:5555/v3']);
  });

  it('configures a replica, then follows its endpoints without reloading', async () => {
    const { api, controller, setIps } = setupHaproxy();
    const [, key = ''] = controller.keys();
    expect((await controller.sync(key)).outcome.action).toBe('reload');
    setIps(['10.1.0.2']);
    expect((await controller.sync(key)).outcome.action).toBe('runtime');
    expect(api.reloads).toBe(1);
  });

  it('treats a key whose replica went away as done', async () => {
    const { controller, setReplicas } = setupHaproxy();
    const [, key = ''] = controller.keys();
    setReplicas([]);
    expect((await controller.sync(key)).outcome.action).toBe('replica-gone');
  });

  it('warns about a port without endpoints once, not on every sync, and again when it comes back', async () => {
    const { controller, lines, setIps } = setupHaproxy();
    const [, key = ''] = controller.keys();
    const noEndpoint = () => lines().filter((line) => line.msg === 'port 80: no ready endpoint');
    setIps([]);
    for (let i = 0; i < 5; i++) await controller.sync(key);
    expect(noEndpoint()).toHaveLength(1);
    setIps(['10.1.0.1']);
    await controller.sync(key);
    setIps([]);
    await controller.sync(key);
    expect(noEndpoint()).toHaveLength(2);
  });
});

describe('dnsWritePacing (--write-interval)', () => {
  it.each([
    ['a DNS sync that wrote', 1000, 'updated', { holdMs: 1000 }],
    ['a DNS sync that found nothing to change', 1000, 'unchanged', undefined],
    ['a dry run', 1000, 'dry-run', undefined],
    ['a DNS sync that wrote, with --write-interval 0s', 0, 'updated', undefined],
  ] as const)('holds the DNS key after %s: %j', async (_case, intervalMs, action, expected) => {
    const { controller, store } = setup({ ingresses: [anIngress('a', { hosts: ['a.example.com'] })], ingressClasses: [] }, { dryRun: action === 'dry-run' });
    if (action === 'unchanged') await controller.sync(COREDNS_KEY);
    const writes = store.writes;
    const result = await controller.sync(COREDNS_KEY);
    expect(result.outcome.action).toBe(action);
    expect(store.writes - writes).toBe(action === 'updated' ? 1 : 0);
    expect(dnsWritePacing(intervalMs)(result)).toEqual(expected);
  });
});

describe('routes that do not fit in the ConfigMap', () => {
  const aged = (name: string, hosts: string[], at: string) => {
    const ingress = anIngress(name, { hosts });
    return { ...ingress, metadata: { ...ingress.metadata, creationTimestamp: at } };
  };
  // Another key fills the ConfigMap to within 700 bytes of its limit: room for a few rules only.
  const otherKeys = { padding: 'x'.repeat(CONFIGMAP_MAX_BYTES - corefile.length - 700) };
  /** Whether the Corefile's rules route host, read as CoreDNS reads them. */
  const routes = (written: string, host: string) =>
    [...written.matchAll(/rewrite stop name (exact|regex) (\S+) /g)].some(([, type, from = '']) => (type === 'exact' ? from === host : new RegExp(from).test(`${host}.`)));
  const hostsOf = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}.team-${i}.example${i}.org`);

  it('routes the oldest claims that fit, names the rest once (log, Warning Event, gauge), and never writes nothing', async () => {
    const older = aged('older', hostsOf('old', 3), '2026-01-01T00:00:00Z');
    const newer = aged('newer', hostsOf('new', 40), '2026-12-01T00:00:00Z');
    const { controller, store, events, lines } = setup({ ingresses: [newer, older], ingressClasses: [] }, { otherKeys });
    const first = await controller.sync(COREDNS_KEY);
    const written = store.data?.Corefile ?? '';
    expect(first.outcome.action).toBe('updated');
    expect(Buffer.byteLength(written) + Buffer.byteLength(otherKeys.padding)).toBeLessThanOrEqual(CONFIGMAP_MAX_BYTES);
    for (const host of hostsOf('old', 3)) expect(routes(written, host)).toBe(true);
    expect(routes(written, 'new-39.team-39.example39.org')).toBe(false);
    const dropped = events.events.filter((event) => event.reason === 'RoutesDropped');
    expect(dropped).toEqual([expect.objectContaining({ object: 'ConfigMap/kube-system/coredns', type: 'Warning' })]);
    expect(dropped[0]?.message).toMatch(/^\d+ host\(s\) do not fit in ConfigMap kube-system\/coredns key Corefile .*new-39\.team-39\.example39\.org/);
    expect(lines().filter((line) => String(line.msg).startsWith('routes dropped: '))).toHaveLength(1);

    await controller.sync(COREDNS_KEY);
    expect(events.events.filter((event) => event.reason === 'RoutesDropped')).toHaveLength(1);
  });

  it('leaves the ConfigMap alone when even the Corefile without rules does not fit', async () => {
    const { controller, store } = setup({ ingresses: [aged('a', ['a.example.com'], '2026-01-01T00:00:00Z')], ingressClasses: [] }, { otherKeys: { padding: 'x'.repeat(CONFIGMAP_MAX_BYTES) } });
    await expect(controller.sync(COREDNS_KEY)).rejects.toThrow(/Corefile without our rules is \d+ bytes/);
    expect(store.data?.Corefile).toBe(corefile);
  });
});
