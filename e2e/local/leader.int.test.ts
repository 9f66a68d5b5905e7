/**
 * Leader election against a real apiserver: two controllers, both under the controller's own
 * identity and RBAC; one leads and writes, the other stands by (Ready) and writes nothing. When
 * the leader is killed, the standby takes the Lease once it expires and converges; when a leader
 * stops cleanly, it hands the Lease over at once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  blockMentions,
  cleanupAll,
  ingress,
  makeTmpDir,
  markerBlock,
  readCorefile,
  seedCluster,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  type ControlPlane,
  type ControllerProcess,
} from '../harness/index.js';

/** Short, so that a takeover after a kill takes seconds; the default is 15 s. */
const LEASE = ['--leader-election-lease', '4s'];

let plane: ControlPlane;
let tmpDir: string;

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('leader');
    plane = await startControlPlane({ tmpDir });
    await seedCluster(plane);
    await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

const leads = (controller: ControllerProcess) => controller.logs().some((line) => line.msg === 'became the leader');
const holder = async () => (await plane.getJson<{ spec?: { holderIdentity?: string } }>(['-n', 'hairpin-proxy', 'lease', 'hairpin-proxy'])).spec?.holderIdentity;
const routes = (host: string) =>
  waitFor(async () => blockMentions(markerBlock(await readCorefile(plane)), host), { timeoutMs: 30_000, intervalMs: 200, what: `the Corefile to route ${host}` });

describe('two replicas', () => {
  let first: ControllerProcess;
  let second: ControllerProcess;

  it(
    'one leads and writes; the other stands by, Ready, and writes nothing',
    withLogs(async () => {
      first = await startController({ controlPlane: plane, tmpDir, name: 'controller-1', args: LEASE });
      await first.waitForLog((line) => line.msg === 'became the leader', 'controller-1 to lead');
      second = await startController({ controlPlane: plane, tmpDir, name: 'controller-2', args: LEASE });
      await second.waitForLog((line) => line.msg === 'another replica leads; standing by', 'controller-2 to stand by');

      await plane.apply(ingress({ name: 'shop', namespace: 'team-a', hosts: ['shop.example.com'] }));
      await routes('shop.example.com');
      expect(await first.writesTotal()).toBeGreaterThanOrEqual(1);
      expect(await second.writesTotal()).toBe(0);
      expect(leads(second)).toBe(false);
      expect(await second.ready()).toBe(true);
      expect(await holder()).toMatch(/_\d+$/);
    }),
    60_000,
  );

  it(
    'the standby takes over once a killed leader’s Lease expires, and converges',
    withLogs(async () => {
      first.process.killNow();
      await second.waitForLog((line) => line.msg === 'became the leader', 'controller-2 to take over', { timeoutMs: 20_000 });
      await plane.apply(ingress({ name: 'blog', namespace: 'team-a', hosts: ['blog.example.com'] }));
      await routes('blog.example.com');
      expect(await second.writesTotal()).toBeGreaterThanOrEqual(1);
    }),
    60_000,
  );

  it(
    'a leader that stops cleanly hands the Lease over at once',
    withLogs(async () => {
      const third = await startController({ controlPlane: plane, tmpDir, name: 'controller-3', args: LEASE });
      await third.waitForLog((line) => line.msg === 'another replica leads; standing by', 'controller-3 to stand by');
      await second.stop();
      expect(second.logs().some((line) => line.msg === 'released the leader lease')).toBe(true);
      await third.waitForLog((line) => line.msg === 'became the leader', 'controller-3 to lead');
      await plane.apply(ingress({ name: 'docs', namespace: 'team-a', hosts: ['docs.example.com'] }));
      await routes('docs.example.com');
    }),
    60_000,
  );
});
