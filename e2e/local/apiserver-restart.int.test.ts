/**
 * The control plane goes away for 10 s (apiserver and etcd stopped, then started again on the
 * same data and port). The controller must ride it out in-process and pick up an Ingress created
 * right after the restart.
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
  sleep,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  withoutMarkerBlock,
  type ControlPlane,
  type ControllerProcess,
} from '../harness/index.js';

const OUTAGE_MS = 10_000;

let plane: ControlPlane;
let controller: ControllerProcess;
let seeded: string;

beforeAll(
  withLogs(async () => {
    const tmpDir = makeTmpDir('apiserver-restart');
    plane = await startControlPlane({ tmpDir });
    seeded = (await seedCluster(plane)).corefile;
    controller = await startController({ controlPlane: plane, tmpDir });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

const routes = async (host: string) => blockMentions(markerBlock(await readCorefile(plane)), host);

describe('a control-plane restart', () => {
  it(
    'is survived in-process, and an Ingress created right after it converges',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'before', hosts: ['before.example.com'] }));
      await waitFor(() => routes('before.example.com'), { timeoutMs: 30_000, intervalMs: 200, what: 'before.example.com to be routed' });
      const pid = controller.process.pid;
      const logsBefore = controller.logs().length;

      await plane.stop();
      await sleep(OUTAGE_MS); // the outage itself, not a wait for a condition
      await plane.start();
      await plane.apply(ingress({ name: 'after', hosts: ['after.example.com'] }));

      // Bounded by the informers' restart backoff (0.5 s doubling, capped at 30 s) plus a sync.
      const corefile = await waitFor(
        async () => {
          const text = await readCorefile(plane);
          const block = markerBlock(text);
          return blockMentions(block, 'after.example.com') && blockMentions(block, 'before.example.com') ? text : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'after.example.com to be routed after the restart' },
      );
      expect(withoutMarkerBlock(corefile)).toBe(seeded);

      // The same process all along: never exited, never restarted.
      expect(controller.process.running).toBe(true);
      expect(controller.process.pid).toBe(pid);
      expect(controller.process.startCount).toBe(1);
      // …and it did notice the outage (its informers restarted) rather than sleeping through it.
      const restarts = controller.logs().slice(logsBefore).filter((line) => /informer .*restart/i.test(line.msg));
      expect(restarts.length).toBeGreaterThan(0);
      expect(await controller.ready()).toBe(true);
    }),
    120_000,
  );
});
