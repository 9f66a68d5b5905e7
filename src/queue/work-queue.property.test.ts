import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { FakeClock } from '../testing/fake-clock.js';
import { WorkQueue } from './work-queue.js';

const KEYS = ['a', 'b', 'c'] as const;
type Key = (typeof KEYS)[number];

const command = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }),
);
/** Per key: whether its 1st, 2nd, … sync fails; every sync after the list succeeds. */
const failures = fc.record({
  a: fc.array(fc.boolean(), { maxLength: 6 }),
  b: fc.array(fc.boolean(), { maxLength: 6 }),
  c: fc.array(fc.boolean(), { maxLength: 6 }),
});

// Far beyond the slowest schedule: ~60 syncs at 1/s, each backoff at most 240 ms, syncs 200 ms.
const SETTLE_MS = 10 * 60_000;

describe('WorkQueue (property)', () => {
  it('ends with a successful sync of each key begun after its last add; no overlap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { maxLength: 40 }),
        failures,
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.record({
          perSecond: fc.integer({ min: 1, max: 50 }),
          burst: fc.integer({ min: 1, max: 5 }),
        }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1 }),
        async (commands, failSchedule, durations, concurrency, rateLimit, randoms) => {
          const clock = new FakeClock();
          // Adds and sync starts share one sequence, since many happen at the same fake instant.
          let seq = 0;
          const lastAdd = new Map<Key, number>();
          const lastSync = new Map<Key, { startedAt: number; ok?: boolean }>();
          const syncCount = new Map<Key, number>();
          const activeByKey = new Map<Key, number>();
          let active = 0;
          let maxActive = 0;
          let overlapped = false;
          let draws = 0;

          const queue = new WorkQueue<Key>({
            clock,
            concurrency,
            rateLimit,
            backoff: { baseMs: 10, maxMs: 200, jitter: 0.2 },
            random: () => randoms[draws++ % randoms.length] ?? 0,
            sync: async (key) => {
              const n = syncCount.get(key) ?? 0;
              syncCount.set(key, n + 1);
              const record: { startedAt: number; ok?: boolean } = { startedAt: seq++ };
              lastSync.set(key, record);
              overlapped ||= (activeByKey.get(key) ?? 0) > 0;
              activeByKey.set(key, (activeByKey.get(key) ?? 0) + 1);
              maxActive = Math.max(maxActive, ++active);
              try {
                await clock.sleep(durations[n % durations.length] ?? 0);
                record.ok = !(failSchedule[key][n] ?? false);
                if (!record.ok) throw new Error(`scheduled failure of ${key} #${n}`);
              } finally {
                activeByKey.set(key, (activeByKey.get(key) ?? 0) - 1);
                active--;
              }
            },
          });
          queue.start();
          for (const c of commands) {
            if (c.kind === 'add') {
              lastAdd.set(c.key, seq++);
              queue.add(c.key);
            } else {
              await clock.advance(c.ms);
            }
          }
          await clock.advance(SETTLE_MS);

          let idle = false;
          void queue.whenIdle().then(() => (idle = true));
          await clock.advance(0);
          expect(idle).toBe(true);
          expect(overlapped).toBe(false);
          expect(maxActive).toBeLessThanOrEqual(concurrency);
          for (const [key, addedAt] of lastAdd) {
            const sync = lastSync.get(key);
            expect(sync?.ok).toBe(true);
            expect(sync?.startedAt).toBeGreaterThan(addedAt);
          }
          expect(await queue.shutdown()).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
