// The HAProxy sink against a real HAProxy 2.6 and the real Data Plane API v3, forwarding to a real
// nginx that requires the PROXY protocol: structure in one reload, endpoint churn under load with
// no reload and no failed request, PROXY v1 and v2, and the old config serving when an update fails.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_HAPROXY_POLICY, desiredHaproxy, type DesiredHaproxy, type ProxyProtocol } from '../../src/haproxy/desired.js';
import { HaproxySink } from '../../src/haproxy/sink.js';
import { createLogger } from '../../src/log.js';
import { cleanupAll, dataplaneTools, freePorts, makeTmpDir, parseAnswer, runLoad, startDataplane, startProxyProtocolNginx, withLogs, type LocalDataplane } from '../harness/index.js';

const tools = await dataplaneTools();
if (!tools.ok) console.warn(`HAProxy sink integration tests skipped: ${tools.reason}`);

const NGINX_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const log = createLogger('warn');

(tools.ok ? describe : describe.skip)('HaproxySink against HAProxy 2.6 + Data Plane API v3 (real processes)', () => {
  let dataplane: LocalDataplane;
  let sink: HaproxySink;
  let frontPort = 0;
  let nginxPort = 0;

  /** What the controller would want for the ingress endpoints at these addresses. */
  const desired = (addresses: readonly string[], proxyProtocol: ProxyProtocol = 'v1'): DesiredHaproxy =>
    desiredHaproxy(
      [
        {
          name: 'ingress',
          proxyProtocol,
          ports: [{ port: frontPort, listenPort: frontPort }],
          target: {
            service: { metadata: { name: 'ingress-nginx-controller' }, spec: { ports: [{ name: 'http', port: frontPort }] } },
            slices: [{ ports: [{ name: 'http', port: nginxPort }], endpoints: addresses.map((address) => ({ addresses: [address] })) }],
          },
        },
      ],
      DEFAULT_HAPROXY_POLICY,
    );
  const apply = (want: DesiredHaproxy) => sink.apply(want, { log, dryRun: false });
  const load = (requests: number) => runLoad({ host: '127.0.0.1', port: frontPort, requests, concurrency: 8 });

  beforeAll(withLogs(async () => {
    const tmpDir = makeTmpDir('haproxy-sink');
    [frontPort = 0, nginxPort = 0] = await freePorts(2);
    await startProxyProtocolNginx({ tmpDir, name: 'ingress', listeners: NGINX_ADDRESSES.map((address) => ({ address, port: nginxPort })) });
    dataplane = await startDataplane({ tmpDir });
    sink = new HaproxySink(dataplane.client());
  }), 90_000);

  afterAll(() => cleanupAll(), 60_000);

  it('builds the frontend and backend in one reload; nginx sees the client through PROXY v1', withLogs(async () => {
    const reloads = await dataplane.reloads();
    const outcome = await apply(desired(NGINX_ADDRESSES.slice(0, 2)));
    expect(outcome).toMatchObject({ action: 'reload', writes: 2 });
    expect(await dataplane.reloads()).toBe(reloads + 1);
    const result = await load(40);
    expect(result.failures).toEqual([]);
    const answers = [...result.bodies.keys()].map(parseAnswer);
    expect(new Set(answers.map((a) => a?.servedBy))).toEqual(new Set(NGINX_ADDRESSES.slice(0, 2).map((a) => `${a}:${nginxPort}`)));
    expect(answers.every((a) => a?.client === '127.0.0.1')).toBe(true);
    expect(await apply(desired(NGINX_ADDRESSES.slice(0, 2)))).toMatchObject({ action: 'unchanged' });
  }));

  it('follows 30 endpoint changes under load with no failed request and no reload', withLogs(async () => {
    const reloads = await dataplane.reloads();
    const stop = new AbortController();
    const traffic = runLoad({ host: '127.0.0.1', port: frontPort, requests: 20_000, concurrency: 8, stop: stop.signal });
    const sets = [[0, 1, 2], [2], [3], [0, 3], [1, 2, 3], [0, 1, 2, 3], [1]];
    for (let change = 0; change < 30; change++) {
      const addresses = (sets[change % sets.length] ?? []).map((i) => NGINX_ADDRESSES[i] ?? '');
      const outcome = await apply(desired(addresses));
      expect(outcome).toMatchObject({ action: 'runtime', unexpectedReloads: 0 });
    }
    stop.abort();
    const result = await traffic;
    expect(result.failures).toEqual([]);
    expect(result.requests).toBeGreaterThan(100);
    expect(await dataplane.reloads()).toBe(reloads);
  }), 120_000);

  it('switches to PROXY v2 with one reload, and nginx still sees the client', withLogs(async () => {
    const reloads = await dataplane.reloads();
    expect((await apply(desired([NGINX_ADDRESSES[0] ?? ''], 'v2'))).action).toBe('reload');
    expect(await dataplane.reloads()).toBe(reloads + 1);
    const result = await load(20);
    expect(result.failures).toEqual([]);
    expect([...result.bodies.keys()].map((body) => parseAnswer(body)?.client)).toEqual(['127.0.0.1']);
  }));

  it('keeps the old configuration serving when the Data Plane API is down', withLogs(async () => {
    await dataplane.api.stop();
    const broken = new HaproxySink(dataplane.client({ maxAttempts: 2, baseDelayMs: 10 }));
    await expect(broken.apply(desired(NGINX_ADDRESSES), { log, dryRun: false })).rejects.toMatchObject({ kind: 'Unavailable' });
    const result = await load(20);
    expect(result.failures).toEqual([]);
    expect(new Set([...result.bodies.keys()].map((body) => parseAnswer(body)?.servedBy))).toEqual(new Set([`${NGINX_ADDRESSES[0]}:${nginxPort}`]));
  }));
});
