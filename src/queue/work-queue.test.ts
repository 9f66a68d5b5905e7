import { describe, it, expect } from '@jest/globals';
import { FakeClock } from '../testing/fake-clock.js';
import { WorkQueue, type SyncPacing, type SyncResult, type WorkQueueOptions } from './work-queue.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A queue on a fake clock that records every sync start (key@time) and result. */
function setup(
  work: (key: string, clock: FakeClock) => Promise<SyncPacing | undefined> | Promise<void>,
  options: Partial<WorkQueueOptions<string>> = {},
) {
  const clock = new FakeClock();
  const starts: string[] = [];
  const results: SyncResult<string>[] = [];
  const queue = new WorkQueue<string>({
    clock,
    random: () => 0.5, // jitter factor exactly 1, so backoff delays are exact
    onResult: (result) => results.push(result),
    ...options,
    sync: async (key) => {
      starts.push(`${key}@${clock.now()}`);
      return (await work(key, clock)) as SyncPacing | undefined;
    },
  });
  return { clock, queue, starts, results };
}

const instant = async (): Promise<void> => undefined;

describe('WorkQueue', () => {
  it('coalesces: a key added many times while waiting syncs once', async () => {
    const { clock, queue, starts } = setup(instant, { concurrency: 1 });
    for (let i = 0; i < 5; i++) queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.depth).toBe(2);
    queue.start();
    await clock.advance(0);
    expect(starts).toEqual(['a@0', 'b@0']);
    expect(queue.depth).toBe(0);
  });

  it('never overlaps syncs of a key: adds mid-sync cause exactly one more, after it', async () => {
    const gates = [deferred(), deferred()];
    let active = 0;
    let maxActive = 0;
    const { clock, queue, starts } = setup(
      async (_key, c) => {
        const gate = gates[starts.length - 1];
        active++;
        maxActive = Math.max(maxActive, active);
        await (gate ? gate.promise : c.sleep(0));
        active--;
      },
      { concurrency: 4 },
    );
    queue.start();
    queue.add('a');
    await clock.advance(0);
    expect(starts).toEqual(['a@0']);
    for (let i = 0; i < 10; i++) queue.add('a');
    await clock.advance(10);
    expect(starts).toEqual(['a@0']);
    expect(queue.depth).toBe(0);
    gates[0]?.resolve();
    await clock.advance(0);
    expect(starts).toEqual(['a@0', 'a@10']);
    gates[1]?.resolve();
    await clock.advance(100);
    expect(starts).toHaveLength(2);
    expect(maxActive).toBe(1);
  });

  it('runs different keys concurrently, at most `concurrency` at a time (default 2)', async () => {
    let active = 0;
    let maxActive = 0;
    const { clock, queue, starts } = setup(async (_key, c) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await c.sleep(100);
      active--;
    });
    for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
    queue.start();
    await clock.advance(0);
    expect(starts).toEqual(['a@0', 'b@0']);
    await clock.advance(300);
    expect(starts).toEqual(['a@0', 'b@0', 'c@100', 'd@100', 'e@200']);
    expect(maxActive).toBe(2);
  });

  it("runs each key in its own lane with concurrency 'per-key': a hung key delays no other", async () => {
    const never = new Promise<void>(() => undefined);
    const { clock, queue, starts } = setup((key) => (key.startsWith('hung') ? never : instant()), { concurrency: 'per-key' });
    queue.start();
    for (const key of ['hung-1', 'hung-2', 'hung-3']) queue.add(key);
    await clock.advance(10);
    queue.add('dns');
    await clock.advance(0);
    expect(starts).toEqual(['hung-1@0', 'hung-2@0', 'hung-3@0', 'dns@10']);
  });

  it('reports the depth to onDepthChange whenever it changes, not only after a sync', async () => {
    const depths: number[] = [];
    const { clock, queue } = setup(instant, { concurrency: 1, onDepthChange: (depth) => depths.push(depth) });
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(depths).toEqual([1, 2]);
    queue.start();
    await clock.advance(0);
    expect(depths).toEqual([1, 2, 1, 0]);
  });

  describe('on failure', () => {
    it('retries with exponential backoff capped at maxMs; success resets the count', async () => {
      let failuresLeft = 5;
      const { clock, queue, starts, results } = setup(
        async () => {
          if (failuresLeft-- > 0) throw new Error('boom');
        },
        { backoff: { baseMs: 100, maxMs: 500 } },
      );
      queue.start();
      queue.add('a');
      await clock.advance(10_000);
      // Retries after 100, 200, 400, 500 (capped), 500.
      expect(starts).toEqual(['a@0', 'a@100', 'a@300', 'a@700', 'a@1200', 'a@1700']);
      expect(results.map((r) => [r.ok, r.attempt, r.retryInMs])).toEqual([
        [false, 1, 100],
        [false, 2, 200],
        [false, 3, 400],
        [false, 4, 500],
        [false, 5, 500],
        [true, 6, undefined],
      ]);
      expect(results[0]?.error).toEqual(new Error('boom'));

      failuresLeft = 1;
      queue.add('a');
      await clock.advance(10_000);
      expect(starts.slice(6)).toEqual(['a@10000', 'a@10100']);
      expect(results[6]).toMatchObject({ ok: false, attempt: 1, retryInMs: 100 });
    });

    it('jitters the delay with the injected random source', async () => {
      const { clock, queue, results } = setup(
        async () => {
          throw new Error('boom');
        },
        { random: () => 0, backoff: { baseMs: 1000, jitter: 0.25 } },
      );
      queue.start();
      queue.add('a');
      await clock.advance(0);
      expect(results[0]?.retryInMs).toBe(750);
      await queue.shutdown();
    });

    it('does not delay other keys', async () => {
      const { clock, queue, starts } = setup(async (key) => {
        if (key === 'bad') throw new Error('boom');
      });
      queue.start();
      queue.add('bad');
      await clock.advance(10);
      queue.add('good');
      await clock.advance(0);
      expect(starts).toEqual(['bad@0', 'good@10']);
      await queue.shutdown();
    });

    it('honours backoff: adding a key that waits to retry does not run it sooner', async () => {
      let failuresLeft = 1;
      const { clock, queue, starts } = setup(async () => {
        if (failuresLeft-- > 0) throw new Error('boom');
      });
      queue.start();
      queue.add('a');
      await clock.advance(50);
      for (let i = 0; i < 5; i++) queue.add('a');
      expect(queue.depth).toBe(0);
      await clock.advance(1000);
      expect(starts).toEqual(['a@0', 'a@100']);
    });

    it('backs a permanent failure off to minutes, and wakes it at once when its input changes', async () => {
      let broken = true;
      const { clock, queue, starts, results } = setup(
        async () => {
          if (broken) throw new Error('malformed Corefile');
        },
        { classify: () => 'permanent', permanentBackoff: { baseMs: 30_000, maxMs: 300_000 } },
      );
      queue.start();
      queue.add('a');
      await clock.advance(30_000 + 60_000 + 120_000 + 240_000 + 300_000);
      expect(starts).toEqual(['a@0', 'a@30000', 'a@90000', 'a@210000', 'a@450000', 'a@750000']);
      expect(results.map((r) => r.retryInMs)).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
      expect(results.every((r) => r.permanent === true)).toBe(true);

      broken = false;
      queue.add('a'); // a person fixed the input: no need to wait out the backoff
      await clock.advance(0);
      expect(starts.at(-1)).toBe('a@750000');
      expect(results.at(-1)).toMatchObject({ ok: true });
    });

    it('keeps transient failures on the short backoff, whatever classify says of others', async () => {
      const { clock, queue, results } = setup(
        async (key) => {
          throw new Error(key);
        },
        { classify: (error) => ((error as Error).message === 'p' ? 'permanent' : 'transient'), backoff: { baseMs: 100, maxMs: 500 } },
      );
      queue.start();
      queue.add('t');
      queue.add('p');
      await clock.advance(0);
      expect(results.map((r) => [r.key, r.permanent, r.retryInMs])).toEqual([
        ['t', false, 100],
        ['p', true, 30_000],
      ]);
      await queue.shutdown();
    });

    it('serves an add made during a failing sync with the retry, not an extra run', async () => {
      let failuresLeft = 1;
      const { clock, queue, starts } = setup(async (_key, c) => {
        await c.sleep(10);
        if (failuresLeft-- > 0) throw new Error('boom');
      });
      queue.start();
      queue.add('a');
      await clock.advance(5);
      queue.add('a');
      await clock.advance(1000);
      expect(starts).toEqual(['a@0', 'a@110']);
    });
  });

  describe('pacing (a sync that asks for a hold)', () => {
    const held = (holdMs: number) => async (): Promise<SyncPacing> => ({ holdMs });

    it('runs the first add at once, and every add during the hold as one sync when it ends', async () => {
      const { clock, queue, starts } = setup(held(1000));
      queue.start();
      queue.add('dns');
      await clock.advance(0);
      for (const at of [100, 200, 900]) {
        await clock.advance(at - clock.now());
        queue.add('dns');
      }
      await clock.advance(1000 - clock.now());
      expect(starts).toEqual(['dns@0', 'dns@1000']);
    });

    it('runs nothing when the hold ends without an add, and the next add after it at once', async () => {
      const { clock, queue, starts } = setup(held(1000));
      queue.start();
      queue.add('dns');
      await clock.advance(1500);
      queue.add('dns');
      await clock.advance(0);
      expect(starts).toEqual(['dns@0', 'dns@1500']);
    });

    it('holds only the key whose sync asked: other keys run at once', async () => {
      const { clock, queue, starts } = setup(async (key) => (key === 'dns' ? { holdMs: 1000 } : undefined));
      queue.start();
      queue.add('dns');
      await clock.advance(0);
      queue.add('dns');
      queue.add('haproxy');
      await clock.advance(10);
      expect(starts).toEqual(['dns@0', 'haproxy@0']);
    });

    it('serves an add made during the sync with the sync after the hold', async () => {
      const gate = deferred();
      const { clock, queue, starts } = setup(async () => {
        if (starts.length === 1) await gate.promise;
        return { holdMs: 1000 };
      });
      queue.start();
      queue.add('dns');
      await clock.advance(0);
      queue.add('dns');
      await clock.advance(50);
      gate.resolve();
      await clock.advance(0);
      await clock.advance(999);
      expect(starts).toEqual(['dns@0']);
      await clock.advance(1);
      expect(starts).toEqual(['dns@0', 'dns@1050']);
    });

    it('is not idle while a held key has an add to serve, and shutdown drops the hold', async () => {
      const { clock, queue, starts } = setup(held(1000));
      queue.start();
      queue.add('dns');
      await clock.advance(0);
      let idle = false;
      void queue.whenIdle().then(() => (idle = true));
      await clock.advance(0);
      expect(idle).toBe(true);
      queue.add('dns');
      let idleAgain = false;
      void queue.whenIdle().then(() => (idleAgain = true));
      await clock.advance(500);
      expect(idleAgain).toBe(false);
      await queue.shutdown();
      await clock.advance(1000);
      expect(idleAgain).toBe(true);
      expect(starts).toEqual(['dns@0']);
    });
  });

  it('limits sync starts with a global token bucket', async () => {
    const { clock, queue, starts } = setup(instant, {
      rateLimit: { perSecond: 10, burst: 100 },
    });
    for (let i = 0; i < 150; i++) queue.add(`k${i}`);
    queue.start();
    const startedBy = async (t: number) => {
      await clock.advance(t - clock.now());
      return starts.length;
    };
    expect(await startedBy(0)).toBe(100);
    expect(await startedBy(99)).toBe(100);
    expect(await startedBy(100)).toBe(101);
    expect(await startedBy(1000)).toBe(110);
    expect(await startedBy(4999)).toBe(149);
    expect(await startedBy(5000)).toBe(150);
  });

  it('resyncs every key from resync.keys() every interval', async () => {
    let keys = ['a', 'b'];
    const { clock, queue, starts } = setup(instant, {
      resync: { intervalMs: 1000, keys: () => keys },
    });
    queue.start();
    await clock.advance(999);
    expect(starts).toEqual([]);
    await clock.advance(1);
    expect(starts).toEqual(['a@1000', 'b@1000']);
    keys = ['c'];
    await clock.advance(1000);
    expect(starts).toEqual(['a@1000', 'b@1000', 'c@2000']);
  });

  it('resyncs every 5 minutes by default', async () => {
    const { clock, queue, starts } = setup(instant, { resync: { keys: () => ['a'] } });
    queue.start();
    await clock.advance(300_000 - 1);
    expect(starts).toEqual([]);
    await clock.advance(1);
    expect(starts).toEqual(['a@300000']);
  });

  describe('shutdown', () => {
    it('lets in-flight syncs finish, starts nothing new, drops timers and later adds', async () => {
      const inFlight = deferred();
      const { clock, queue, starts } = setup(
        async (key) => {
          if (key === 'retrying') throw new Error('boom');
          if (key === 'a') await inFlight.promise;
        },
        { concurrency: 1, resync: { intervalMs: 1000, keys: () => ['r'] } },
      );
      queue.start();
      queue.add('retrying');
      await clock.advance(0);
      queue.add('a');
      queue.add('b');
      await clock.advance(0);
      expect(starts).toEqual(['retrying@0', 'a@0']);

      let resolved: boolean | undefined;
      void queue.shutdown().then((drained) => (resolved = drained));
      queue.add('c');
      expect(queue.depth).toBe(0);
      await clock.advance(10);
      expect(resolved).toBeUndefined();
      inFlight.resolve();
      await clock.advance(0);
      expect(resolved).toBe(true);
      expect(clock.pending).toBe(0);
      await clock.advance(60_000);
      expect(starts).toEqual(['retrying@0', 'a@0']);
    });

    it('schedules no retry for a sync that fails while shutting down', async () => {
      const inFlight = deferred();
      const { clock, queue, results } = setup(() => inFlight.promise);
      queue.start();
      queue.add('a');
      await clock.advance(0);
      const drained = queue.shutdown();
      inFlight.reject(new Error('boom'));
      expect(await drained).toBe(true);
      expect(results).toEqual([
        { key: 'a', ok: false, durationMs: 0, attempt: 1, error: new Error('boom'), permanent: false },
      ]);
      expect(clock.pending).toBe(0);
    });

    it('ends waits for rate-limit tokens without starting those syncs', async () => {
      const { clock, queue, starts } = setup(instant, { rateLimit: { perSecond: 1, burst: 1 } });
      queue.add('a');
      queue.add('b');
      queue.add('c');
      queue.start();
      await clock.advance(0);
      expect(starts).toEqual(['a@0']);
      expect(await queue.shutdown()).toBe(true);
      expect(clock.pending).toBe(0);
      await clock.advance(10_000);
      expect(starts).toEqual(['a@0']);
    });

    it('resolves false when in-flight syncs outlast the timeout', async () => {
      const { clock, queue } = setup(() => new Promise<void>(() => undefined));
      queue.start();
      queue.add('stuck');
      await clock.advance(0);
      let resolved: boolean | undefined;
      void queue.shutdown(1000).then((drained) => (resolved = drained));
      await clock.advance(999);
      expect(resolved).toBeUndefined();
      await clock.advance(1);
      expect(resolved).toBe(false);
    });

    it('drops keys added before start() and resolves at once when nothing runs', async () => {
      const { clock, queue, starts } = setup(instant);
      queue.add('a');
      expect(await queue.shutdown()).toBe(true);
      queue.start();
      await clock.advance(1000);
      expect(starts).toEqual([]);
    });
  });

  it('whenIdle() waits for queued, running and backing-off keys', async () => {
    let failuresLeft = 2;
    const { clock, queue, starts } = setup(async (_key, c) => {
      await c.sleep(10);
      if (failuresLeft-- > 0) throw new Error('boom');
    });
    await queue.whenIdle();
    queue.start();
    queue.add('a');
    let idleAt: number | undefined;
    void queue.whenIdle().then(() => (idleAt = clock.now()));
    await clock.advance(10_000);
    // Syncs of 10 ms at 0, 110 (retry after 100) and 320 (retry after 200).
    expect(starts).toEqual(['a@0', 'a@110', 'a@320']);
    expect(idleAt).toBe(330);
  });

  it('reports each sync to onResult with its duration', async () => {
    const { clock, queue, results } = setup((_key, c) => c.sleep(42));
    queue.start();
    queue.add('a');
    await clock.advance(100);
    expect(results).toEqual([{ key: 'a', ok: true, durationMs: 42, attempt: 1 }]);
  });

  it('rejects options that cannot work', () => {
    const sync = instant;
    expect(() => new WorkQueue({ sync, concurrency: 0 })).toThrow(RangeError);
    expect(() => new WorkQueue({ sync, concurrency: 1.5 })).toThrow(RangeError);
    expect(() => new WorkQueue({ sync, backoff: { baseMs: 0 } })).toThrow(RangeError);
    expect(() => new WorkQueue({ sync, backoff: { baseMs: 100, maxMs: 50 } })).toThrow(RangeError);
    expect(() => new WorkQueue({ sync, backoff: { jitter: 1 } })).toThrow(RangeError);
    expect(() => new WorkQueue({ sync, rateLimit: { perSecond: 0 } })).toThrow(RangeError);
    expect(() => new WorkQueue({ sync, resync: { intervalMs: 0, keys: () => [] } })).toThrow(
      RangeError,
    );
  });
});
