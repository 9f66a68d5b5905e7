export interface RateLimitOptions {
  perSecond: number;
  burst: number;
}

/** Classic token bucket: starts full, refills continuously at perSecond, holds at most burst. */
export class TokenBucket {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  constructor({ perSecond, burst }: RateLimitOptions, now: number) {
    if (!(Number.isFinite(perSecond) && perSecond > 0)) {
      throw new RangeError(`rateLimit.perSecond must be a finite number > 0, got ${perSecond}`);
    }
    if (!(Number.isFinite(burst) && burst >= 1)) {
      throw new RangeError(`rateLimit.burst must be a finite number >= 1, got ${burst}`);
    }
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /**
   * Takes one token and returns how many ms the caller must wait before using it (0 when one was
   * available). Taking on credit (the balance goes negative) instead of "try again later" lets
   * every waiter sleep exactly once, with no retry loop, and keeps waiters in arrival order.
   */
  reserve(now: number): number {
    const refill = ((now - this.#updatedAt) * this.#perSecond) / 1000;
    this.#tokens = Math.min(this.#burst, this.#tokens + refill);
    this.#updatedAt = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#perSecond);
  }
}
