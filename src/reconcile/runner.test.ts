import { describe, expect, it } from '@jest/globals';
import { LeaderElector } from '../kube/leader.js';
import { FakeClock } from '../testing/fake-clock.js';
import { captureLogger, FakeLeaseStore } from '../testing/fakes.js';
import { Runner } from './runner.js';

const TIMING = { leaseDurationMs: 15_000, renewIntervalMs: 2_000, renewDeadlineMs: 10_000, retryIntervalMs: 2_000 };
const KEYS = ['coredns', 'haproxy/a', 'haproxy/b'];

/** A sync that records itself and, for keys in `hang`, waits until its signal aborts. */
function setup({ hang = new Set<string>(), elect = true } = {}) {
  const clock = new FakeClock();
  const store = new FakeLeaseStore();
  const { log, lines } = captureLogger();
  const events: string[] = [];
  /** The Lease holder at each cancellation. */
  const holdersAtCancel: Array<string | undefined> = [];
  const elector = new LeaderElector({ store, identity: 'me', log, clock, wallClock: () => new Date(clock.now()), ...TIMING });
  const runner = new Runner({
    keys: () => KEYS,
    sync: (key, signal) => {
      events.push(`sync ${key}@${clock.now()}`);
      if (!hang.has(key)) return Promise.resolve(undefined);
      return new Promise<undefined>((_resolve, reject) => {
        const cancel = () => {
          events.push(`cancelled ${key}@${clock.now()}`);
          holdersAtCancel.push(store.record?.holder);
          reject(signal.reason);
        };
        if (signal.aborted) cancel();
        else signal.addEventListener('abort', cancel, { once: true });
      });
    },
    ...(elect ? { leadership: elector } : {}),
    classify: () => 'transient',
    backoff: { baseMs: 200, maxMs: 5_000, jitter: 0 },
    resyncMs: 300_000,
    log,
    clock,
  });
  const stop = new AbortController();
  let finished = false;
  const running = runner.run(stop.signal).then(() => {
    finished = true;
    events.push(`stopped@${clock.now()}`);
  });
  const syncsOf = (key: string) => events.filter((event) => event.startsWith(`sync ${key}@`));
  return { clock, store, lines, events, holdersAtCancel, runner, stop, running, syncsOf, isFinished: () => finished };
}

describe('Runner', () => {
  it('leads, then syncs every key', async () => {
    const { clock, store, events, stop, running } = setup();
    await clock.advance(0);
    expect(store.record?.holder).toBe('me');
    expect(events).toEqual(['sync coredns@0', 'sync haproxy/a@0', 'sync haproxy/b@0']);
    stop.abort();
    await clock.advance(0);
    await running;
  });

  it('lets no key wait for another: two hung replicas do not delay the Corefile', async () => {
    const { clock, runner, syncsOf, stop, running } = setup({ hang: new Set(['haproxy/a', 'haproxy/b']) });
    await clock.advance(1_000);
    runner.enqueue(['coredns']);
    await clock.advance(0);
    expect(syncsOf('coredns')).toEqual(['sync coredns@0', 'sync coredns@1000']);
    stop.abort();
    await clock.advance(0);
    await running;
  });

  it('cancels the syncs in flight the moment the lease is lost, starts no more, and stands by', async () => {
    const { clock, store, events, runner, syncsOf, lines, stop, running } = setup({ hang: new Set(['haproxy/a']) });
    await clock.advance(0);
    store.takeOver('other', 60, new Date(clock.now()));
    await clock.advance(TIMING.renewIntervalMs);
    expect(events).toContain(`cancelled haproxy/a@${TIMING.renewIntervalMs}`);
    runner.enqueue(KEYS);
    await clock.advance(30_000);
    expect(syncsOf('coredns')).toHaveLength(1);
    expect(lines().map((line) => line.msg)).toEqual(expect.arrayContaining(['lost the leader lease', 'cancelling the syncs in flight', 'standing by: another replica may lead now']));
    stop.abort();
    await clock.advance(TIMING.retryIntervalMs);
    await running;
  });

  it('leads again when the lease comes free, and syncs every key afresh', async () => {
    const { clock, store, syncsOf, stop, running } = setup();
    await clock.advance(0);
    store.takeOver('other', 20, new Date(clock.now()));
    await clock.advance(TIMING.renewIntervalMs);
    await clock.advance(20_000 + TIMING.retryIntervalMs);
    expect(store.record?.holder).toBe('me');
    expect(syncsOf('coredns')).toHaveLength(2);
    stop.abort();
    await clock.advance(0);
    await running;
  });

  it('shut down while renewing: waits for the renewal to land, then releases the lease, leaving no timer', async () => {
    const { clock, store, stop, running, isFinished } = setup();
    await clock.advance(0);
    const land = store.holdNextReplace();
    await clock.advance(TIMING.renewIntervalMs);
    stop.abort();
    await clock.advance(0);
    expect(isFinished()).toBe(false);
    land();
    await running;
    expect(store.record?.holder).toBe('');
    await clock.advance(TIMING.leaseDurationMs);
    expect(store.record?.holder).toBe('');
    expect(clock.pending).toBe(0);
  });

  it('shut down while syncing: cancels the sync, and releases the lease only after it has ended', async () => {
    const { clock, store, events, holdersAtCancel, stop, running } = setup({ hang: new Set(['coredns']) });
    await clock.advance(0);
    stop.abort();
    await clock.advance(0);
    await running;
    expect(events.slice(-2)).toEqual(['cancelled coredns@0', 'stopped@0']);
    expect(holdersAtCancel).toEqual(['me']);
    expect(store.record?.holder).toBe('');
  });

  it('a cancelled sync is not retried', async () => {
    const { clock, syncsOf, store, stop, running } = setup({ hang: new Set(['coredns']) });
    await clock.advance(0);
    store.takeOver('other', 60, new Date(clock.now()));
    await clock.advance(TIMING.renewIntervalMs + 10_000);
    expect(syncsOf('coredns')).toHaveLength(1);
    stop.abort();
    await clock.advance(TIMING.retryIntervalMs);
    await running;
  });

  it('without leader election, works until stopped', async () => {
    const { clock, store, syncsOf, stop, running, events } = setup({ elect: false, hang: new Set(['haproxy/b']) });
    await clock.advance(0);
    expect(store.record).toBeUndefined();
    expect(syncsOf('coredns')).toHaveLength(1);
    stop.abort();
    await clock.advance(0);
    await running;
    expect(events.filter((event) => event.startsWith('cancelled'))).toEqual(['cancelled haproxy/b@0']);
  });
});
