import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../testing/fake-clock.js';
import { captureLogger, FakeLeaseStore } from '../testing/fakes.js';
import { LeaderElector } from './leader.js';

const TIMING = { leaseDurationMs: 15_000, renewIntervalMs: 2_000, renewDeadlineMs: 10_000, retryIntervalMs: 2_000 };

function setup() {
  const store = new FakeLeaseStore();
  const clock = new FakeClock();
  const { log } = captureLogger();
  const candidate = (identity: string) => new LeaderElector({ store, identity, log, clock, wallClock: () => new Date(clock.now()), ...TIMING });
  return { store, clock, candidate };
}

describe('LeaderElector', () => {
  it('takes a lease nobody holds', async () => {
    const { store, candidate } = setup();
    expect(await candidate('a').tryAcquireOrRenew()).toBe(true);
    expect(store.record).toMatchObject({ holder: 'a', leaseDurationSeconds: 15, transitions: 0 });
  });

  it('gives exactly one of two racing candidates the lease', async () => {
    const { candidate } = setup();
    const results = await Promise.all([candidate('a').tryAcquireOrRenew(), candidate('b').tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('waits for a held lease to expire on its own clock, then takes it over', async () => {
    const { store, clock, candidate } = setup();
    await candidate('a').tryAcquireOrRenew();
    const b = candidate('b');
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await clock.advance(14_000);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await clock.advance(1_000);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(store.record).toMatchObject({ holder: 'b', transitions: 1 });
  });

  it('never takes a lease its holder keeps renewing, however long it waits', async () => {
    const { clock, candidate } = setup();
    const a = candidate('a');
    await a.tryAcquireOrRenew();
    a.hold(() => {
      throw new Error('a must not lose the lease');
    });
    const b = candidate('b');
    for (let second = 0; second < 60; second += 5) {
      await clock.advance(5_000);
      expect(await b.tryAcquireOrRenew()).toBe(false);
    }
    expect(a.leading).toBe(true);
  });

  it('stops leading once it could not renew for the renew deadline, before the lease expires', async () => {
    const { store, clock, candidate } = setup();
    const a = candidate('a');
    await a.tryAcquireOrRenew();
    let lostAt: number | undefined;
    a.hold(() => (lostAt = clock.now()));
    store.down = true;
    await clock.advance(20_000);
    expect(lostAt).toBeGreaterThanOrEqual(TIMING.renewDeadlineMs);
    expect(lostAt).toBeLessThan(TIMING.leaseDurationMs);
    expect(a.leading).toBe(false);
  });

  it('leads again once the apiserver is back, if nobody took the lease meanwhile', async () => {
    const { store, clock, candidate } = setup();
    const a = candidate('a');
    await a.tryAcquireOrRenew();
    a.hold(() => undefined);
    store.down = true;
    await clock.advance(12_000);
    expect(a.leading).toBe(false);
    store.down = false;
    const again = a.acquire(new AbortController().signal);
    await clock.advance(2_000);
    await expect(again).resolves.toBeUndefined();
    expect(store.record).toMatchObject({ holder: 'a', transitions: 0 });
  });

  it('lead() resolves once leading with a signal that aborts when the lease is lost', async () => {
    const { store, clock, candidate } = setup();
    const leadership = await candidate('a').lead(new AbortController().signal);
    expect(leadership.aborted).toBe(false);
    store.down = true;
    await clock.advance(12_000);
    expect(leadership.aborted).toBe(true);
  });

  it('hands the lease back on release, so a standby takes it at once', async () => {
    const { clock, candidate } = setup();
    const a = candidate('a');
    await a.tryAcquireOrRenew();
    const b = candidate('b');
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await a.release();
    await clock.advance(1);
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('acquire() keeps trying until the lease is free, and gives up when stopped', async () => {
    const { clock, candidate } = setup();
    const a = candidate('a');
    await a.tryAcquireOrRenew();
    const stop = new AbortController();
    const waiting = candidate('b').acquire(stop.signal);
    await clock.advance(30_000);
    await expect(waiting).resolves.toBeUndefined();

    const c = candidate('c').acquire(stop.signal);
    await clock.advance(4_000);
    stop.abort();
    await expect(c).rejects.toThrow(/stopped before becoming the leader/);
  });
});

describe('LeaderElector, stopping and losing', () => {
  it('release() during an in-flight renewal ends with the Lease released and no timer left', async () => {
    const { store, clock, candidate } = setup();
    const a = candidate('a');
    await a.lead(new AbortController().signal);
    const land = store.holdNextReplace();
    await clock.advance(TIMING.renewIntervalMs); // a renewal starts and hangs in its write
    const released = a.release();
    land();
    await released;
    await clock.advance(TIMING.leaseDurationMs);
    expect(store.record?.holder).toBe('');
    expect(a.leading).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('stops leading the moment a renewal finds another holder, without waiting for the renew deadline', async () => {
    const { store, clock, candidate } = setup();
    const leadership = await candidate('a').lead(new AbortController().signal);
    store.takeOver('b', 60, new Date(clock.now()));
    await clock.advance(TIMING.renewIntervalMs);
    expect(leadership.aborted).toBe(true);
  });

  it('stops leading at the renew deadline even while a renewal hangs', async () => {
    const { store, clock, candidate } = setup();
    const leadership = await candidate('a').lead(new AbortController().signal);
    store.holdNextReplace(); // never lands
    await clock.advance(TIMING.renewDeadlineMs - 1);
    expect(leadership.aborted).toBe(false);
    await clock.advance(1);
    expect(leadership.aborted).toBe(true);
  });
});
