/**
 * Time as the queue sees it: milliseconds on a monotonic scale (not wall time), plus one-shot
 * timers. Injected so tests can drive time deterministically (see FakeClock).
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Node fires a timer longer than this after 1 ms (with a warning), so an oversized delay would
// become a busy loop; clamped, it fires after ~24.8 days instead.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Real time. Timers stay ref'd on purpose: a pending retry or rate-limit wait is unfinished work,
 * and an unref'd one would let the process exit silently in the middle of it (e.g. `--once`).
 * WorkQueue.shutdown() clears every timer it owns, so nothing of ours keeps the process alive
 * after it.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms, MAX_TIMER_MS)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
