/**
 * A person breaks the Corefile. The controller must not touch it (CoreDNS keeps serving its last
 * good configuration; a controller that "repaired" a file it cannot parse could make it worse),
 * must say so with a Warning Event on the ConfigMap, must keep running, and must put its rules
 * back as soon as the Corefile is fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  blockMentions,
  cleanupAll,
  COREDNS_CONFIGMAP,
  COREDNS_NAMESPACE,
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
  writeCorefile,
  type ControlPlane,
  type ControllerProcess,
} from '../harness/index.js';

interface EventList {
  items: Array<{ type: string; reason: string; message: string; involvedObject: { kind: string; name: string; namespace: string } }>;
}

let plane: ControlPlane;
let controller: ControllerProcess;
let seeded: string;

beforeAll(
  withLogs(async () => {
    const tmpDir = makeTmpDir('malformed');
    plane = await startControlPlane({ tmpDir });
    seeded = (await seedCluster(plane)).corefile;
    controller = await startController({ controlPlane: plane, tmpDir });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

const invalidCorefileEvents = async () =>
  (
    await plane.getJson<EventList>([
      'events',
      '-n',
      COREDNS_NAMESPACE,
      `--field-selector=involvedObject.kind=ConfigMap,involvedObject.name=${COREDNS_CONFIGMAP},reason=InvalidCorefile`,
    ])
  ).items;

describe('a malformed Corefile', () => {
  it(
    'is left alone and reported, and repaired as soon as it is fixed',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'shop', hosts: ['shop.example.com'] }));
      const good = await waitFor(async () => {
        const text = await readCorefile(plane);
        return blockMentions(markerBlock(text), 'shop.example.com') ? text : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200, what: 'shop.example.com to be routed' });
      const pid = controller.process.pid;

      // A person edits the Corefile and loses the block's closing brace.
      const broken = good.replace(/\n}\n$/, '\n');
      expect(broken).not.toBe(good);
      const failuresBefore = controller.logs().filter((line) => line.msg === 'sync failed').length;
      await writeCorefile(plane, broken);

      // An empty list is truthy: wait for one that holds the Event.
      const [event] = await waitFor(async () => {
        const events = await invalidCorefileEvents();
        return events.length > 0 ? events : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250, what: 'a Warning Event InvalidCorefile on the ConfigMap' });
      expect(event?.type).toBe('Warning');
      expect(event?.involvedObject).toMatchObject({ kind: 'ConfigMap', namespace: COREDNS_NAMESPACE, name: COREDNS_CONFIGMAP });
      expect(event?.message).toMatch(/Corefile line \d+/); // says where the problem is

      // A later sync (forced by an unrelated watched change, whether or not the controller also
      // retries on its own) sees the broken file again and still does not write.
      await waitFor(() => controller.logs().filter((line) => line.msg === 'sync failed').length >= failuresBefore + 1, {
        timeoutMs: 30_000,
        what: 'a failed sync of the broken Corefile',
      });
      await plane.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nudge' }, spec: { controller: 'example.com/none' } });
      await waitFor(() => controller.logs().filter((line) => line.msg === 'sync failed').length >= failuresBefore + 2, {
        timeoutMs: 30_000,
        what: 'a second failed sync of the broken Corefile',
      });
      expect(await readCorefile(plane)).toBe(broken);
      expect(controller.process.running).toBe(true);
      expect(controller.process.pid).toBe(pid);

      // The person restores kubeadm's Corefile (without our block): the controller adds it back.
      await writeCorefile(plane, seeded);
      const repaired = await waitFor(async () => {
        const text = await readCorefile(plane);
        return blockMentions(markerBlock(text), 'shop.example.com') ? text : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200, what: 'the controller to put its rules back into the fixed Corefile' });
      expect(withoutMarkerBlock(repaired)).toBe(seeded);
      expect(repaired).toBe(good);
      expect(controller.process.running).toBe(true);
      expect(controller.process.startCount).toBe(1);
    }),
    120_000,
  );
});
