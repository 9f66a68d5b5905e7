/**
 * Faults, on real processes: the apiserver killed mid-burst, the controller killed mid-burst, the
 * Lease taken away mid-sync, a hung Data Plane API replica, the CoreDNS ConfigMap deleted, the
 * Corefile grown to the ConfigMap size limit, and `--once` against an apiserver that is not there.
 *
 * After each fault: the Corefile converges to exactly what a fresh controller computes (a one-off
 * dry run finds nothing to change), the person's edit of the Corefile survives, there is one marker
 * block, at most one Event per (object, reason) was created, and no warning or error line repeats
 * another of the fault (same level, message and subject). Every wait is bounded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import {
  applyEventually,
  awaitEvent,
  blockMentions,
  cleanupAll,
  COREDNS_CONFIGMAP,
  COREDNS_KEY,
  COREDNS_NAMESPACE,
  duplicateEvents,
  freePort,
  ingress,
  killHard,
  kubeconfigFor,
  makeTmpDir,
  markerBlock,
  openFault,
  pendingChanges,
  readCorefile,
  repeatedLogLines,
  runCli,
  seedCluster,
  sleep,
  startBlackHole,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  withoutMarkerBlock,
  writeCorefile,
  type ControlPlane,
  type ControllerProcess,
  type FaultWindow,
} from '../harness/index.js';

/** Short, so that a takeover after a kill takes seconds; the default is 15 s. */
const LEASE = ['--leader-election-lease', '4s'];
const CONVERGE_MS = 60_000;

let plane: ControlPlane;
let tmpDir: string;
/** The Corefile as the cluster's owner left it: kubeadm's, plus a person's own edit. */
let human: string;
/** The controllers a test started, stopped after it so the next one starts from a free Lease. */
const started: ControllerProcess[] = [];

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('faults');
    plane = await startControlPlane({ tmpDir });
    const { corefile } = await seedCluster(plane);
    human = corefile.replace('    cache 30\n', '    cache 30\n    # team-dns: the cache stays at 30 s (ticket DNS-42)\n');
    await writeCorefile(plane, human);
    await plane.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }]);
  }),
  120_000,
);

afterEach(async () => {
  for (const controller of started.splice(0)) await controller.stop();
});

afterAll(() => cleanupAll(), 60_000);

async function controller(name: string, extra: readonly string[] = [], options: { dataplaneUrls?: string[] } = {}): Promise<ControllerProcess> {
  const process = await startController({ controlPlane: plane, tmpDir, name, args: [...LEASE, ...extra], ...options });
  started.push(process);
  return process;
}

// Numbered so that no name is a prefix of another (blockMentions matches text): 0 is deleted in tests.
const hostsOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}.${prefix}.example.com`);
const ingressFor = (host: string) => ingress({ name: host.split('.')[0] ?? host, namespace: 'team-a', hosts: [host] });

/** Every Ingress host in the cluster now, from the apiserver. */
async function liveHosts(): Promise<string[]> {
  const list = await plane.getJson<{ items: Array<{ spec?: { rules?: Array<{ host?: string }> } }> }>(['ingress', '-A']);
  return list.items.flatMap((item) => item.spec?.rules?.flatMap((rule) => (rule.host ? [rule.host] : [])) ?? []);
}

/** Waits until the Corefile routes every live Ingress host and none of `absent`, then checks it whole. */
async function expectConverged(absent: readonly string[] = []): Promise<string> {
  const corefile = await waitFor(
    async () => {
      const [text, hosts] = await Promise.all([readCorefile(plane), liveHosts()]);
      const block = markerBlock(text);
      return hosts.every((host) => blockMentions(block, host)) && absent.every((host) => !blockMentions(block, host)) ? text : undefined;
    },
    { timeoutMs: CONVERGE_MS, intervalMs: 250, what: 'the Corefile to route exactly the live Ingress hosts' },
  );
  expect(withoutMarkerBlock(corefile)).toBe(human);
  expect(corefile.match(/# BEGIN hairpin-proxy/g)).toHaveLength(1);
  expect(await pendingChanges(plane)).toEqual([]);
  return corefile;
}

/** What every fault must leave: no duplicate Events, no repeated warning or error. */
async function expectQuiet(window: FaultWindow): Promise<void> {
  expect(await duplicateEvents(plane, window)).toEqual([]);
  expect(repeatedLogLines(window)).toEqual([]);
}

describe('faults', () => {
  it(
    'the apiserver killed during a burst of Ingresses: nothing lost, the controller rides it out',
    withLogs(async () => {
      const leader = await controller('controller-a');
      const window = await openFault(plane, [leader]);
      const hosts = hostsOf('burst', 24);
      for (const [i, host] of hosts.entries()) {
        if (i === 8) {
          await killHard(plane.apiserver);
          void sleep(3_000).then(() => plane.startApiserver());
        }
        await applyEventually(plane, ingressFor(host));
      }
      await plane.kubectl(['delete', 'ingress', '-n', 'team-a', 'burst-0']);
      await expectConverged(['burst-0.burst.example.com']);
      expect(leader.process.running).toBe(true);
      expect(leader.process.startCount).toBe(1);
      await expectQuiet(window);
    }),
    180_000,
  );

  it(
    'the controller SIGKILLed during a burst: its successor converges once the Lease expires',
    withLogs(async () => {
      const first = await controller('controller-b1');
      const window = await openFault(plane, [first]);
      const hosts = hostsOf('kill', 20);
      let second: ControllerProcess | undefined;
      for (const [i, host] of hosts.entries()) {
        if (i === 6) {
          await killHard(first.process);
          second = await controller('controller-b2');
        }
        if (i === 12) await plane.kubectl(['delete', 'ingress', '-n', 'team-a', 'kill-0']);
        await applyEventually(plane, ingressFor(host));
      }
      await expectConverged(['kill-0.kill.example.com']);
      if (!second) throw new Error('the successor never started');
      await second.waitForLog((line) => line.msg === 'became the leader', 'the successor to lead');
      await expectQuiet({ ...window, logsFrom: new Map([[second, 0]]) });
    }),
    180_000,
  );

  it(
    'the Lease taken by a second identity mid-sync: the sync in flight is cancelled at once, nothing is written until the Lease is back',
    withLogs(async () => {
      const hung = await startBlackHole();
      const leader = await controller('controller-c', [], { dataplaneUrls: [`http://127.0.0.1:${hung.port}/v3`] });
      await waitFor(() => hung.connections.length > 0, { timeoutMs: 15_000, what: 'the replica sync to be in flight' });
      const window = await openFault(plane, [leader]);
      const writesBefore = await leader.writesTotal();
      const from = leader.logs().length;

      // The intruder's Lease: 10 s from now, never renewed.
      const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
      await plane.kubectl(['patch', 'lease', '-n', 'hairpin-proxy', 'hairpin-proxy', '--type=merge', '-p',
        JSON.stringify({ spec: { holderIdentity: 'intruder', leaseDurationSeconds: 10, acquireTime: now, renewTime: now } })]);
      const takenAt = Date.now();
      await leader.waitForLog((line) => line.msg === 'lost the leader lease', 'the leader to notice', { fromIndex: from, timeoutMs: 10_000 });
      await waitFor(() => hung.connections.every((c) => c.closedAt !== undefined), { timeoutMs: 5_000, what: 'the hung request to be cancelled' });
      const cancelled = leader.logs().slice(from).filter((line) => line.msg === 'sync cancelled');
      expect(cancelled.map((line) => line.key)).toContain(`haproxy/http://127.0.0.1:${hung.port}/v3`);
      // Cancelled by the loss, not ended by the Data Plane API client's 10 s timeout.
      expect(Math.max(...hung.connections.map((c) => c.closedAt ?? Infinity))).toBeLessThan(takenAt + 10_000);

      // Deposed: a change is not written while the intruder holds the Lease…
      await plane.apply(ingressFor('deposed-0.deposed.example.com'));
      await sleep(2_000);
      expect(blockMentions(markerBlock(await readCorefile(plane)), 'deposed-0.deposed.example.com')).toBe(false);
      expect(await leader.writesTotal()).toBe(writesBefore);
      // …and is, once the intruder's Lease has expired and the controller leads again.
      await leader.waitForLog((line) => line.msg === 'became the leader', 'the controller to lead again', { fromIndex: from, timeoutMs: 30_000 });
      await expectConverged();
      await expectQuiet(window);
    }),
    120_000,
  );

  it(
    'a Data Plane API replica that accepts and never answers: the Corefile write completes while its first request is pending',
    withLogs(async () => {
      const hung = [await startBlackHole(), await startBlackHole()];
      const leader = await controller('controller-d', [], { dataplaneUrls: hung.map((h) => `http://127.0.0.1:${h.port}/v3`) });
      await waitFor(() => hung.every((h) => h.connections.length > 0), { timeoutMs: 15_000, what: 'both replicas to have a request in flight' });
      const window = await openFault(plane, [leader]);
      await plane.apply(ingressFor('hung-0.hung.example.com'));
      await waitFor(async () => blockMentions(markerBlock(await readCorefile(plane)), 'hung-0.hung.example.com'), {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'the Corefile to route hung-0.hung.example.com',
      });
      // The first request to each replica is still open and unanswered.
      for (const replica of hung) expect(replica.connections[0]?.closedAt).toBeUndefined();
      await expectConverged();
      await expectQuiet(window);
    }),
    120_000,
  );

  it(
    'the CoreDNS ConfigMap deleted, then recreated: one Warning Event, and the rules are back as soon as it exists',
    withLogs(async () => {
      const leader = await controller('controller-e');
      await expectConverged();
      const window = await openFault(plane, [leader]);
      await plane.kubectl(['delete', 'configmap', '-n', COREDNS_NAMESPACE, COREDNS_CONFIGMAP]);
      await plane.apply(ingressFor('gone-0.gone.example.com')); // a change while it is gone
      const failed = await awaitEvent(plane, window, COREDNS_CONFIGMAP, 'CorefileSyncFailed');
      expect(failed).toMatchObject({ type: 'Warning', message: expect.stringMatching(/not found/) });
      expect(leader.process.running).toBe(true);

      await plane.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: COREDNS_CONFIGMAP, namespace: COREDNS_NAMESPACE }, data: { [COREDNS_KEY]: human } });
      await expectConverged();
      await expectQuiet(window);
    }),
    120_000,
  );

  it(
    'the Corefile grown by someone else to the size limit: nothing corrupted, the new hosts named as dropped once, routed when space returns',
    withLogs(async () => {
      const leader = await controller('controller-f');
      const routed = await expectConverged();
      const window = await openFault(plane, [leader]);
      // A person pads the Corefile to 4 bytes under the 1 MiB ConfigMap limit: no new host fits.
      const limit = 1024 * 1024;
      const pad = limit - 4 - Buffer.byteLength(routed) - 1;
      const grown = `${routed}# ${'x'.repeat(pad - 2)}\n`;
      expect(Buffer.byteLength(grown)).toBe(limit - 4);
      await writeCorefile(plane, grown);
      for (const host of hostsOf('full', 3)) await plane.apply(ingressFor(host));

      // The hosts routed before keep their place; the new ones do not fit and are named, not written.
      // The Ingresses arrive one by one: the log names the set each time it grows; the Event (one,
      // its message following the latest at the recorder's own pace) names them from the first.
      await leader.waitForLog((line) => line.msg === 'routes dropped: 3 do not fit in the ConfigMap', 'the three new hosts dropped');
      const dropped = await awaitEvent(plane, window, COREDNS_CONFIGMAP, 'RoutesDropped');
      expect(dropped.type).toBe('Warning');
      expect(dropped.message).toMatch(/^\d host\(s\) do not fit in ConfigMap kube-system\/coredns .*full-0\.full\.example\.com/);
      await sleep(2_000); // further changes arrive meanwhile; they must not corrupt anything either
      expect(await readCorefile(plane)).toBe(grown);

      await writeCorefile(plane, routed); // the person takes the padding out again
      await expectConverged();
      await expectQuiet(window);
    }),
    120_000,
  );
});

describe('run --once against an apiserver that is not there', () => {
  it.each([
    ['a closed port', async () => freePort()],
    ['a port that accepts and never answers', async () => (await startBlackHole()).port],
  ])(
    '%s: exits 1 within 60 s, naming the apiserver',
    async (_what, port) => {
      const server = `https://127.0.0.1:${await port()}`;
      const kubeconfig = kubeconfigFor(plane, server, join(tmpDir, `unreachable-${Date.now()}.kubeconfig`));
      const run = await runCli(['run', '--once', '--kubeconfig', kubeconfig, '--listen-address', 'off', '--no-manage-haproxy'], 60_000);
      expect(run.killed).toBe(false);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(server);
    },
    90_000,
  );
});
