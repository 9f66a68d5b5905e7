import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { backoffDelay } from './backoff.js';

const noJitter = { baseMs: 100, maxMs: 1000, jitter: 0 };

describe('backoffDelay', () => {
  it('doubles from baseMs per consecutive failure and caps at maxMs', () => {
    const delays = [1, 2, 3, 4, 5, 6, 2000].map((n) => backoffDelay(n, noJitter, Math.random));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('multiplies by a factor in [1 - jitter, 1 + jitter] taken from random()', () => {
    const options = { baseMs: 1000, maxMs: 60_000, jitter: 0.2 };
    expect(backoffDelay(1, options, () => 0)).toBe(800);
    expect(backoffDelay(1, options, () => 0.5)).toBe(1000);
    expect(backoffDelay(7, options, () => 0.999_999)).toBe(60_000 * 1.2);
  });

  it('stays within the jittered bounds for any failure count and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        (failures, r, jitter) => {
          const options = { baseMs: 50, maxMs: 30_000, jitter };
          const base = Math.min(30_000, 50 * 2 ** (failures - 1));
          const delay = backoffDelay(failures, options, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
          expect(delay).toBeLessThanOrEqual(Math.ceil(base * (1 + jitter)));
        },
      ),
    );
  });
});
