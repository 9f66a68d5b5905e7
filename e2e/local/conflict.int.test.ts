/**
 * Optimistic concurrency against a real apiserver, in-process: the real CorednsSink over the real
 * KubeConfigMapStore (as the controller's identity), wrapped so that a person's edit lands
 * through the admin's kubectl between our read and our write. The apiserver answers 409; the
 * sink must re-read and re-apply, and both edits must survive.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { renderCorefile } from '../../src/coredns/corefile.js';
import { CorednsSink } from '../../src/coredns/sink.js';
import { KubeConfigMapStore, type ConfigMapSnapshot, type ConfigMapStore } from '../../src/kube/configmaps.js';
import { KubeError } from '../../src/kube/errors.js';
import { AggregatingEventRecorder, KubeEventWriter } from '../../src/kube/events.js';
import { createLogger } from '../../src/log.js';
import {
  cleanupAll,
  COREDNS_CONFIGMAP,
  COREDNS_KEY,
  COREDNS_NAMESPACE,
  HAIRPIN_FQDN,
  makeTmpDir,
  markerBlock,
  readCorefile,
  seedCluster,
  startControlPlane,
  withLogs,
  withoutMarkerBlock,
  writeCorefile,
  type ControlPlane,
} from '../harness/index.js';

/** A stub zone a person adds by hand: a separate server block, which hairpin-proxy must keep. */
const stubZone = (n: number) => `
internal-${n}.example:53 {
    errors
    forward . 10.0.0.${n}
}
`;

/** Delegates to the real store; before the first `interfereTimes` writes, runs `interfere`. */
class InterferingStore implements ConfigMapStore {
  readonly errors: KubeError[] = [];
  private writes = 0;

  constructor(
    private readonly inner: ConfigMapStore,
    private readonly interfere: (write: number) => Promise<void>,
    private readonly interfereTimes: number,
  ) {}

  get namespace(): string {
    return this.inner.namespace;
  }

  get name(): string {
    return this.inner.name;
  }

  read(): Promise<ConfigMapSnapshot> {
    return this.inner.read();
  }

  async setKey(key: string, value: string, resourceVersion: string): Promise<ConfigMapSnapshot> {
    this.writes += 1;
    if (this.writes <= this.interfereTimes) await this.interfere(this.writes);
    try {
      return await this.inner.setKey(key, value, resourceVersion);
    } catch (error) {
      if (error instanceof KubeError) this.errors.push(error);
      throw error;
    }
  }
}

let plane: ControlPlane;
let seeded: string;
const log = createLogger('silent');
const route = { host: 'shop.example.com', target: HAIRPIN_FQDN };

beforeAll(
  withLogs(async () => {
    plane = await startControlPlane({ tmpDir: makeTmpDir('conflict') });
    seeded = (await seedCluster(plane)).corefile;
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

function sinkOver(interfere: (write: number) => Promise<void>, times: number) {
  const core = plane.kubeConfig('controller').makeApiClient(CoreV1Api);
  const store = new InterferingStore(new KubeConfigMapStore(core, COREDNS_NAMESPACE, COREDNS_CONFIGMAP), interfere, times);
  return { store, sink: new CorednsSink(store, COREDNS_KEY), events: new AggregatingEventRecorder(new KubeEventWriter(core), log) };
}

/** A person's edit through the admin's kubectl: appends a stub zone to whatever is there now. */
async function personAddsStubZone(n: number): Promise<void> {
  await writeCorefile(plane, (await readCorefile(plane)) + stubZone(n));
}

describe('a concurrent edit of the Corefile', () => {
  it(
    'gets a real 409, and both the person’s edit and our rules survive',
    withLogs(async () => {
      await writeCorefile(plane, seeded);
      const { store, sink, events: recorder } = sinkOver(() => personAddsStubZone(1), 1);

      const outcome = await sink.apply((corefile) => renderCorefile(corefile, [route]), { log, dryRun: false });

      expect(store.errors.map((e) => [e.kind, e.status])).toEqual([['Conflict', 409]]);
      expect(outcome.action).toBe('updated');
      expect(outcome.attempts).toBe(2);
      const final = await readCorefile(plane);
      expect(withoutMarkerBlock(final)).toBe(seeded + stubZone(1));
      expect(markerBlock(final)).toContain('shop');
      // The stub zone is not a root block: our rules went into `.:53` only.
      expect(final.indexOf(markerBlock(final))).toBeLessThan(final.indexOf('internal-1.example:53'));

      // Events about it go on the ConfigMap, as the controller's identity (RBAC: create and
      // patch), and a repeat updates the same Event's count rather than adding one.
      recorder.record(sink.object, 'Normal', 'CorefileUpdated', 'routes 1 host');
      recorder.record(sink.object, 'Normal', 'CorefileUpdated', 'routes 1 host');
      await recorder.close();
      const events = await plane.getJson<{ items: Array<{ reason: string; count: number; involvedObject: { uid?: string } }> }>([
        'events',
        '-n',
        COREDNS_NAMESPACE,
        `--field-selector=involvedObject.name=${COREDNS_CONFIGMAP},reason=CorefileUpdated`,
      ]);
      expect(events.items).toEqual([expect.objectContaining({ count: 2, involvedObject: expect.objectContaining({ uid: sink.object.uid }) })]);
    }),
  );

  it(
    'gives up after a bounded number of conflicts, leaving the person’s edits intact',
    withLogs(async () => {
      await writeCorefile(plane, seeded);
      const { store, sink } = sinkOver((n) => personAddsStubZone(n), Number.POSITIVE_INFINITY);

      const failure = await sink.apply((corefile) => renderCorefile(corefile, [route]), { log, dryRun: false }).catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(KubeError);
      expect((failure as KubeError).kind).toBe('Conflict');
      expect(store.errors.length).toBeGreaterThanOrEqual(2);
      expect(store.errors.every((e) => e.kind === 'Conflict' && e.status === 409)).toBe(true);
      const final = await readCorefile(plane);
      expect(markerBlock(final)).toBe('');
      expect(final).toBe(seeded + store.errors.map((_, i) => stubZone(i + 1)).join(''));
    }),
  );
});
