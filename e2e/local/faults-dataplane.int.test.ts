/**
 * The Data Plane API killed (SIGKILL) and restarted in the middle of endpoint churn: HAProxy keeps
 * serving what it has meanwhile, and once the API is back the controller converges it to exactly
 * the last EndpointSlice without a reload, discards any transaction the kill left open at its next
 * structural change, and repeats no warning or error line.
 * Real apiserver, HAProxy 2.6, Data Plane API v3 and nginx; needs root and the Data Plane API.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cleanupAll,
  duplicateEvents,
  ENDPOINT_SETS,
  INGRESS_NAMESPACE,
  INGRESS_SERVICE,
  killHard,
  liveUpdateSkipReason,
  makeTmpDir,
  openFault,
  pendingChanges,
  repeatedLogLines,
  sleep,
  startLiveUpdateScenario,
  withLogs,
  type LiveUpdateScenario,
} from '../harness/index.js';

const skipReason = await liveUpdateSkipReason();
if (skipReason) console.warn(`Data Plane API fault tests skipped: ${skipReason}`);

(skipReason ? describe.skip : describe)('the Data Plane API killed during endpoint churn (real processes)', () => {
  let scenario: LiveUpdateScenario;

  beforeAll(withLogs(async () => {
    scenario = await startLiveUpdateScenario({ tmpDir: makeTmpDir('faults-dataplane') });
  }), 120_000);

  afterAll(() => cleanupAll(), 60_000);

  it(
    'converges HAProxy to the last EndpointSlice once the API is back, with no transaction left open',
    withLogs(async () => {
      const { plane, dataplane, controller } = scenario;
      const window = await openFault(plane, [controller]);
      const workerBefore = await dataplane.workerPid();
      let last: readonly string[] = [];
      for (let change = 0; change < 21; change++) {
        if (change === 7) await killHard(dataplane.api);
        if (change === 14) dataplane.api.start();
        last = ENDPOINT_SETS[change % ENDPOINT_SETS.length] ?? [];
        await scenario.writeEndpoints(last);
        await sleep(150);
      }
      await scenario.awaitServing(last, `HAProxy to serve the last set, ${last.join(', ')}`);
      expect(await pendingChanges(plane, ['--dataplane-url', dataplane.url, '--ingress-controller', `${INGRESS_NAMESPACE}/${INGRESS_SERVICE}`, '--haproxy-ports', String(scenario.frontPort)])).toEqual([]);
      // Endpoint changes stayed runtime-only throughout: the same HAProxy worker serves.
      expect(await dataplane.workerPid()).toBe(workerBefore);
      // A write the kill interrupted may have left the API's own transaction open; the next
      // structural change discards it, and leaves none of its own.
      await scenario.setProxyProtocol('v2');
      expect(await dataplane.client().listTransactions('in_progress')).toEqual([]);
      expect(await duplicateEvents(plane, window)).toEqual([]);
      expect(repeatedLogLines(window)).toEqual([]);
    }),
    180_000,
  );
});
