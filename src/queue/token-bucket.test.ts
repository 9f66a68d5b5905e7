import { describe, it, expect } from '@jest/globals';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst at once, then one token per 1/perSecond, reserved in order', () => {
    const bucket = new TokenBucket({ perSecond: 10, burst: 3 }, 0);
    const waits = Array.from({ length: 6 }, () => bucket.reserve(0));
    expect(waits).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('refills with elapsed time but never above burst', () => {
    const bucket = new TokenBucket({ perSecond: 10, burst: 2 }, 0);
    expect([bucket.reserve(0), bucket.reserve(0), bucket.reserve(0)]).toEqual([0, 0, 100]);
    // The token borrowed at t=0 is repaid by t=100; a long idle spell refills only up to burst.
    expect(bucket.reserve(100)).toBe(100);
    expect([bucket.reserve(60_000), bucket.reserve(60_000), bucket.reserve(60_000)]).toEqual([
      0, 0, 100,
    ]);
  });

  it('rejects limits that would never refill or never allow a start', () => {
    expect(() => new TokenBucket({ perSecond: 0, burst: 1 }, 0)).toThrow(RangeError);
    expect(() => new TokenBucket({ perSecond: Infinity, burst: 1 }, 0)).toThrow(RangeError);
    expect(() => new TokenBucket({ perSecond: 1, burst: 0.5 }, 0)).toThrow(RangeError);
  });
});
