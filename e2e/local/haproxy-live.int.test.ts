// The controller keeps a real HAProxy in sync with the ingress controller's EndpointSlice, live:
// 100 endpoint changes (adds, removals, replacements) under a bounded load, PROXY v1 then v2,
// with no failed request, no reload for server-only changes, and nginx reading the client's
// address from the PROXY header. Real apiserver, HAProxy 2.6, Data Plane API v3 and nginx.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ProxyProtocol } from '../../src/haproxy/desired.js';
import {
  cleanupAll,
  ENDPOINT_SETS,
  liveUpdateSkipReason,
  makeTmpDir,
  parseAnswer,
  POD_ADDRESSES,
  runLoad,
  startLiveUpdateScenario,
  withLogs,
  type LiveUpdateScenario,
} from '../harness/index.js';

const skipReason = await liveUpdateSkipReason();
if (skipReason) console.warn(`HAProxy live-update integration tests skipped: ${skipReason}`);

(skipReason ? describe.skip : describe)('live HAProxy updates from EndpointSlices (real processes)', () => {
  let scenario: LiveUpdateScenario;

  beforeAll(withLogs(async () => {
    scenario = await startLiveUpdateScenario({ tmpDir: makeTmpDir('haproxy-live') });
  }), 120_000);

  afterAll(() => cleanupAll(), 60_000);

  it.each<[ProxyProtocol]>([['v1'], ['v2']])('follows 50 endpoint changes under load with PROXY %s: no failed request, no reload', (version) =>
    withLogs(async () => {
      await scenario.setProxyProtocol(version);
      const reloads = await scenario.dataplane.reloads();
      const stop = new AbortController();
      const traffic = runLoad({ host: '127.0.0.1', port: scenario.frontPort, requests: 200_000, concurrency: 8, stop: stop.signal });
      for (let change = 0; change < 50; change++) await scenario.setEndpoints(ENDPOINT_SETS[change % ENDPOINT_SETS.length] ?? []);
      stop.abort();
      const result = await traffic;

      expect(result.failures).toEqual([]);
      expect(result.requests).toBeGreaterThan(100);
      expect(await scenario.dataplane.reloads()).toBe(reloads);
      const answers = [...result.bodies.keys()].map(parseAnswer);
      expect(new Set(answers.map((a) => a?.client))).toEqual(new Set(['127.0.0.1']));
      expect(new Set(answers.map((a) => a?.servedBy))).toEqual(new Set(POD_ADDRESSES.map((a) => `${a}:${scenario.podPort}`)));
      expect(await scenario.controller.metric('hairpin_proxy_haproxy_updates_total', { kind: 'runtime' })).toBeGreaterThanOrEqual(1);
    })(),
  180_000);
});
