export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Spread in [0, 1): the delay is multiplied by a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
}

/**
 * Delay before retrying after the `failures`-th consecutive failure (1 for the first):
 * baseMs * 2^(failures - 1), capped at maxMs, then jittered, so the longest wait is
 * maxMs * (1 + jitter).
 */
export function backoffDelay(
  failures: number,
  { baseMs, maxMs, jitter }: BackoffOptions,
  random: () => number,
): number {
  // 2 ** n overflows to Infinity for large n, which the cap turns back into maxMs.
  const capped = Math.min(maxMs, baseMs * 2 ** (failures - 1));
  // Keys that failed together (an API server outage) would otherwise retry together, in lockstep.
  return Math.round(capped * (1 - jitter + 2 * jitter * random()));
}
