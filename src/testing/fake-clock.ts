import type { Clock } from '../queue/clock.js';

interface Timer {
  at: number;
  fn: () => void;
}

// A timer that keeps rescheduling itself at zero delay would otherwise hang the test run.
const MAX_TIMERS_PER_ADVANCE = 100_000;

// setImmediate runs only once the microtask queue is empty, so every promise chain that is not
// waiting on a timer has settled by then. Do not combine with jest fake timers, which fake it too.
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Deterministic Clock for tests: time moves only in advance(), which fires due timers in order of
 * due time (ties in scheduling order) and lets promises settle after each one, so async code
 * driven by those timers runs as it would in real time.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  // Insertion order is scheduling order, which breaks ties between timers due at the same time.
  readonly #timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** A promise that resolves when the clock has been advanced by ms (handy inside fake work). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimeout(resolve, ms);
    });
  }

  /** Moves time forward by ms, firing every timer that falls due, including ones it schedules. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be >= 0, got ${ms}`);
    const until = this.#now + ms;
    await settle();
    for (let fired = 0; fired < MAX_TIMERS_PER_ADVANCE; fired++) {
      const next = this.#nextDue(until);
      if (next === undefined) {
        this.#now = until;
        return;
      }
      const [id, timer] = next;
      this.#timers.delete(id);
      this.#now = timer.at;
      timer.fn();
      await settle();
    }
    throw new Error(`FakeClock.advance: over ${MAX_TIMERS_PER_ADVANCE} timers fired in one call`);
  }

  #nextDue(until: number): [number, Timer] | undefined {
    let next: [number, Timer] | undefined;
    for (const entry of this.#timers) {
      if (entry[1].at <= until && (next === undefined || entry[1].at < next[1].at)) next = entry;
    }
    return next;
  }
}
