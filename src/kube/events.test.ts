import { describe, expect, it } from '@jest/globals';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { ObjectRef } from '../model/objects.js';
import { captureLogger } from '../testing/fakes.js';
import { FakeClock } from '../testing/fake-clock.js';
import { AggregatingEventRecorder, DEFAULT_EVENT_POLICY, type EventWriter } from './events.js';
import { KubeError } from './errors.js';

/** The Events as the apiserver would hold them, plus every write made. */
class FakeEventWriter implements EventWriter {
  readonly events = new Map<string, CoreV1Event>();
  writes = 0;
  down = false;

  async create(event: CoreV1Event): Promise<void> {
    this.check();
    const name = event.metadata.name ?? '';
    if (this.events.has(name)) throw new KubeError('Conflict', `create Event ${name}`, 409, 'already exists');
    this.events.set(name, structuredClone(event));
  }

  async count(_namespace: string, name: string): Promise<number> {
    this.check();
    const event = this.events.get(name);
    if (!event) throw new KubeError('NotFound', `read Event ${name}`, 404, 'not found');
    return event.count ?? 1;
  }

  async update(_namespace: string, name: string, change: Pick<CoreV1Event, 'count' | 'message' | 'lastTimestamp'>): Promise<void> {
    this.check();
    const event = this.events.get(name);
    if (!event) throw new KubeError('NotFound', `update Event ${name}`, 404, 'not found');
    Object.assign(event, change);
  }

  /** The apiserver's event-ttl passed. */
  expireAll(): void {
    this.events.clear();
  }

  about(reason: string): CoreV1Event[] {
    return [...this.events.values()].filter((event) => event.reason === reason);
  }

  private check(): void {
    this.writes += 1;
    if (this.down) throw new KubeError('Unavailable', 'create Event', undefined, 'connection refused');
  }
}

const configMap: ObjectRef = { kind: 'ConfigMap', apiVersion: 'v1', namespace: 'kube-system', name: 'coredns', uid: 'u1' };

function setup(writer = new FakeEventWriter()) {
  const clock = new FakeClock();
  const { log, lines } = captureLogger();
  const recorder = new AggregatingEventRecorder(writer, log, clock, DEFAULT_EVENT_POLICY, () => new Date(1_700_000_000_000 + clock.now()));
  return { writer, clock, lines, recorder };
}

describe('AggregatingEventRecorder', () => {
  it('writes the first occurrence at once', async () => {
    const { writer, clock, recorder } = setup();
    recorder.record(configMap, 'Normal', 'CorefileUpdated', 'routes 3 hosts');
    await clock.advance(0);
    expect(writer.about('CorefileUpdated')).toEqual([
      expect.objectContaining({ type: 'Normal', count: 1, message: 'routes 3 hosts', involvedObject: expect.objectContaining({ name: 'coredns', uid: 'u1' }) }),
    ]);
  });

  it('folds 1,000 occurrences of one (object, reason) into one Event, updated at most every 30 s', async () => {
    const { writer, clock, recorder } = setup();
    for (let i = 1; i <= 1000; i++) {
      recorder.record(configMap, 'Normal', 'CorefileUpdated', `routes ${i} hosts`);
      await clock.advance(180); // 3 minutes of churn in all
    }
    await recorder.close();
    const [event, ...others] = writer.about('CorefileUpdated');
    expect(others).toEqual([]);
    expect(event).toMatchObject({ count: 1000, message: 'routes 1000 hosts' });
    expect(writer.writes).toBeLessThanOrEqual(1 + Math.ceil(180_000 / 30_000) + 1);
  });

  it('keeps reasons and objects apart', async () => {
    const { writer, clock, recorder } = setup();
    recorder.record(configMap, 'Warning', 'InvalidCorefile', 'line 3: unbalanced brace');
    recorder.record(configMap, 'Normal', 'CorefileUpdated', 'routes 1 host');
    recorder.record({ ...configMap, name: 'other' }, 'Normal', 'CorefileUpdated', 'routes 1 host');
    await clock.advance(0);
    expect([...writer.events.values()].map((e) => `${e.involvedObject.name}/${e.reason}`).sort()).toEqual([
      'coredns/CorefileUpdated',
      'coredns/InvalidCorefile',
      'other/CorefileUpdated',
    ]);
  });

  it('continues its Event after ten quiet minutes, and starts a new one once the apiserver expired it', async () => {
    const { writer, clock, recorder } = setup();
    recorder.record(configMap, 'Warning', 'CorefileSyncFailed', 'too long');
    await clock.advance(DEFAULT_EVENT_POLICY.windowMs + 1);
    recorder.record(configMap, 'Warning', 'CorefileSyncFailed', 'too long');
    await clock.advance(0);
    expect(writer.about('CorefileSyncFailed')).toEqual([expect.objectContaining({ count: 2 })]);

    writer.expireAll();
    await clock.advance(60_000);
    recorder.record(configMap, 'Warning', 'CorefileSyncFailed', 'too long');
    await clock.advance(30_000);
    expect(writer.about('CorefileSyncFailed')).toEqual([expect.objectContaining({ count: 1 })]);
  });

  it('caps writes per object like client-go\'s spam filter, delaying rather than dropping them', async () => {
    const { writer, clock, recorder } = setup();
    for (let i = 0; i < 30; i++) recorder.record(configMap, 'Warning', `Reason${i}`, 'm');
    await clock.advance(0);
    expect(writer.events.size).toBe(DEFAULT_EVENT_POLICY.perObject.burst);
    await clock.advance(5 * DEFAULT_EVENT_POLICY.perObject.refillMs);
    expect(writer.events.size).toBe(30);
  });

  it('says once that Events cannot be written, however often it tries, and once that they can again', async () => {
    const { writer, clock, recorder, lines } = setup();
    writer.down = true;
    for (let i = 0; i < 5; i++) recorder.record({ ...configMap, name: `cm-${i}` }, 'Warning', 'CorefileSyncFailed', 'apiserver away');
    await clock.advance(0);
    writer.down = false;
    recorder.record(configMap, 'Warning', 'CorefileSyncFailed', 'recovered');
    await clock.advance(0);
    expect(lines().filter((line) => line.msg === 'could not record a Kubernetes Event').map((line) => line.level)).toEqual(['warn', 'debug', 'debug', 'debug', 'debug']);
    expect(lines().filter((line) => line.msg === 'recording Kubernetes Events again')).toHaveLength(1);
  });
});

describe('AggregatingEventRecorder against an apiserver that is away', () => {
  it('does not retry in a loop: the next occurrence tries again', async () => {
    const { writer, clock, recorder } = setup();
    writer.down = true;
    recorder.record(configMap, 'Warning', 'CorefileSyncFailed', 'apiserver away');
    await clock.advance(60_000);
    expect(writer.writes).toBe(1);
    writer.down = false;
    recorder.record(configMap, 'Warning', 'CorefileSyncFailed', 'apiserver away');
    await clock.advance(30_000);
    expect(writer.about('CorefileSyncFailed')).toEqual([expect.objectContaining({ count: 2 })]);
  });
});

describe('AggregatingEventRecorder across processes', () => {
  it('continues the Event another process started for the same (object, reason), adding to its count', async () => {
    const first = setup();
    first.recorder.record(configMap, 'Normal', 'CorefileUpdated', 'routes 1 host');
    first.recorder.record(configMap, 'Normal', 'CorefileUpdated', 'routes 2 hosts');
    await first.recorder.close();
    const second = setup(first.writer); // a restarted controller, or the next leader
    second.recorder.record(configMap, 'Normal', 'CorefileUpdated', 'routes 3 hosts');
    await second.clock.advance(0);
    second.recorder.record(configMap, 'Normal', 'CorefileUpdated', 'routes 4 hosts');
    await second.recorder.close();
    expect(first.writer.about('CorefileUpdated')).toEqual([expect.objectContaining({ count: 4, message: 'routes 4 hosts' })]);
  });
});
