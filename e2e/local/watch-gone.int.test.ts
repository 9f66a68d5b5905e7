/**
 * 410 Gone for real: without the watch cache, watches go straight to etcd and the apiserver ends
 * them every 5–10 s (--min-request-timeout=5). After etcd is compacted past the informers'
 * resourceVersions, each re-watch gets 410 and the informer must relist. The controller must come
 * out of that converged, without a write (nothing changed), and still following new Ingresses.
 *
 * The relists are observed in the apiserver's audit log (list, then a new watch, by the
 * controller's identity), independently of what the controller chooses to log.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  blockMentions,
  cleanupAll,
  CONTROLLER_USER,
  ingress,
  makeTmpDir,
  markerBlock,
  readCorefile,
  seedCluster,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  withoutMarkerBlock,
  type AuditEvent,
  type ControlPlane,
  type ControllerProcess,
} from '../harness/index.js';

/** The three informers' resources, as they appear in the audit log's objectRef. */
const WATCHED = ['ingresses', 'ingressclasses', 'configmaps'] as const;

let plane: ControlPlane;
let controller: ControllerProcess;
let seeded: string;

beforeAll(
  withLogs(async () => {
    const tmpDir = makeTmpDir('watch-gone');
    plane = await startControlPlane({ tmpDir, audit: true, extraArgs: ['--watch-cache=false', '--min-request-timeout=5'] });
    seeded = (await seedCluster(plane)).corefile;
    await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'churn' } });
    controller = await startController({ controlPlane: plane, tmpDir });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

const routes = async (...hosts: string[]) => {
  const block = markerBlock(await readCorefile(plane));
  return hosts.every((host) => blockMentions(block, host));
};

/** The controller's requests for a resource, in order. */
function controllerRequests(resource: string, verb: string): AuditEvent[] {
  return plane
    .auditEvents()
    .filter((e) => e.user.username === CONTROLLER_USER && e.verb === verb && e.objectRef?.resource === resource && e.stage !== 'RequestReceived');
}

/** A list after `since` (ISO time) followed by a new watch: the informer relisted and watches again. */
function relistedSince(resource: string, since: string): boolean {
  const list = controllerRequests(resource, 'list').find((e) => e.stageTimestamp > since && e.responseStatus?.code === 200);
  if (!list) return false;
  return controllerRequests(resource, 'watch').some((e) => e.stageTimestamp > list.stageTimestamp);
}

describe('watches that expire into 410 Gone', () => {
  it(
    'relist without a duplicate write, and the controller still follows new Ingresses',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'first', hosts: ['first.example.com'] }));
      await waitFor(() => routes('first.example.com'), { timeoutMs: 30_000, intervalMs: 200, what: 'first.example.com to be routed' });
      const writesBefore = await controller.writesTotal();
      expect(writesBefore).toBeGreaterThanOrEqual(1);

      // Churn objects the controller does not watch, so etcd's revision moves past the informers'.
      const informerRevision = await plane.etcdRevision();
      const churn = Array.from({ length: 20 }, (_, i) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `churn-${i}`, namespace: 'churn' },
        data: { i: String(i) },
      }));
      await plane.apply(churn);
      await plane.kubectl(['delete', 'configmaps', '--all', '-n', 'churn', '--wait=false']);
      const compactedAt = new Date().toISOString();
      const revision = await plane.compactEtcd();
      expect(revision).toBeGreaterThan(informerRevision);

      // Every informer's next re-watch is answered 410, and it relists. The bound covers a watch
      // (5–10 s) plus client-node's reconnect delay, which doubles on each quiet reconnect (≤ 30 s).
      await waitFor(() => WATCHED.every((resource) => relistedSince(resource, compactedAt)), {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `relists of ${WATCHED.join(', ')} in the audit log after the compaction at revision ${revision}`,
      });
      const relists = controller.logs().filter((line) => line.level === 'warn' && /informer/.test(line.msg));
      expect(relists).toEqual([]); // a 410 is routine: no informer restart, no warning

      // Nothing changed, so no write: force a sync that sees the relisted caches, then compare.
      const fromIndex = controller.logs().length;
      await plane.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'unrelated' }, spec: { controller: 'example.com/none' } });
      const sync = await controller.waitForLog((line) => line.msg === 'sync finished', 'a sync after the relists', { fromIndex });
      expect(sync.outcome).toBe('unchanged');
      expect(await controller.writesTotal()).toBe(writesBefore);
      expect(await routes('first.example.com')).toBe(true);

      // And the relisted informers still deliver events.
      await plane.apply(ingress({ name: 'second', hosts: ['second.example.com'] }));
      const corefile = await waitFor(async () => ((await routes('first.example.com', 'second.example.com')) ? readCorefile(plane) : undefined), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'second.example.com to be routed after the relists',
      });
      expect(withoutMarkerBlock(corefile)).toBe(seeded);
      await waitFor(async () => (await controller.writesTotal()) === writesBefore + 1, {
        timeoutMs: 10_000,
        what: 'the writes counter to count the one write for second.example.com',
      });
      expect(controller.process.running).toBe(true);
    }),
    120_000,
  );
});
