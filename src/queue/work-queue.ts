import PQueue from 'p-queue';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { TokenBucket, type RateLimitOptions } from './token-bucket.js';

export interface SyncResult<K extends string> {
  key: K;
  ok: boolean;
  durationMs: number;
  /** 1 on a first try; n on the n-th consecutive try after failures. */
  attempt: number;
  /** What sync rejected with (only when !ok). */
  error?: unknown;
  /** When a failed key will run again (undefined during shutdown, which schedules no retries). */
  retryInMs?: number;
  /** The failure was classified permanent: long backoff, woken by the next add(). */
  permanent?: boolean;
}

/**
 * How a failure is retried, like controller-runtime's TerminalError: 'transient' (an API away, a
 * conflict) retries soon and ignores adds meanwhile; 'permanent' (bad input that only a change
 * can fix) backs off to minutes, and the next add() (its input changed) runs it at once.
 */
export type RetryClass = 'transient' | 'permanent';

/**
 * What a successful sync may ask of the queue: hold the key for holdMs before its next sync.
 * Adds meanwhile are kept and served by one sync when the hold ends, so a stream of changes
 * costs at most one sync per hold (paced writes), while the first change after quiet runs at once.
 */
export interface SyncPacing {
  readonly holdMs: number;
}

/** The work for a key: resolving means done (optionally asking for a hold), rejecting means retry. */
export type SyncFunction<K extends string> = ((key: K) => Promise<void>) | ((key: K) => Promise<SyncPacing | undefined>);

export interface WorkQueueOptions<K extends string> {
  /** The work. A rejection means "retry this key with backoff"; resolve to give up on a key. */
  sync: SyncFunction<K>;
  /**
   * Syncs of different keys running at once. Default 2. 'per-key': no limit across keys, so no key
   * waits for another's sync (each key still runs one sync at a time).
   */
  concurrency?: number | 'per-key';
  /** Per-key retry delay after transient failures. Default { baseMs: 100, maxMs: 60_000, jitter: 0.2 }. */
  backoff?: Partial<BackoffOptions>;
  /** Which failures are permanent. Default: none. */
  classify?: (error: unknown) => RetryClass;
  /** Retry delay after permanent failures. Default { baseMs: 30_000, maxMs: 300_000, jitter: 0.2 }. */
  permanentBackoff?: Partial<BackoffOptions>;
  /** Global limit on sync starts. Default { perSecond: 10, burst: 100 }. */
  rateLimit?: Partial<RateLimitOptions>;
  /**
   * Adds every key of keys() every intervalMs (default 5 min), first one interval after start(),
   * to repair drift. Keys in backoff are skipped like any add.
   */
  resync?: { intervalMs?: number; keys: () => Iterable<K> };
  clock?: Clock;
  /** Source of jitter, in [0, 1). */
  random?: () => number;
  /** Called after every sync, for metrics and logs. Must not throw. */
  onResult?: (result: SyncResult<K>) => void;
  /** Called whenever depth changes, for a gauge. Must not throw. */
  onDepthChange?: (depth: number) => void;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 60_000, jitter: 0.2 };
const DEFAULT_PERMANENT_BACKOFF: BackoffOptions = { baseMs: 30_000, maxMs: 300_000, jitter: 0.2 };
const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 10, burst: 100 };
const DEFAULT_RESYNC_INTERVAL_MS = 5 * 60_000;

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(`WorkQueue: ${message}`);
}

// shutdown() clears p-queue, which rejects the tasks it drops with an AbortError. Anything else
// (a throwing onResult) is a bug and is rethrown to surface as an unhandled rejection.
function ignoreCleared(error: unknown): void {
  if (!(error instanceof DOMException && error.name === 'AbortError')) throw error;
}

/**
 * client-go's workqueue semantics: keys, not objects, so events coalesce; one sync per key at a
 * time; failed keys retry with per-key exponential backoff; a global token bucket paces sync
 * starts; p-queue bounds how many keys sync at once.
 *
 * Unlike client-go, add() of a key waiting out a transient failure's backoff is ignored rather
 * than queued at once, so an event storm cannot hammer a failing API server. Nothing is lost: the
 * retry is a full, level-triggered sync that starts after that add. A key waiting out a permanent
 * failure is the opposite: only new input can fix it, so add() runs it at once.
 */
export class WorkQueue<K extends string> {
  readonly #sync: SyncFunction<K>;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onResult: ((result: SyncResult<K>) => void) | undefined;
  readonly #onDepthChange: ((depth: number) => void) | undefined;
  readonly #classify: (error: unknown) => RetryClass;
  readonly #backoff: BackoffOptions;
  readonly #permanentBackoff: BackoffOptions;
  readonly #bucket: TokenBucket;
  readonly #resync: { intervalMs: number; keys: () => Iterable<K> } | undefined;
  readonly #pq: PQueue;

  // A key is in at most one of #queued, #running, #retrying and #holding: that is what guarantees no two
  // syncs of a key overlap and that a waiting key is queued once.
  /** Has a p-queue task whose sync has not started yet. */
  readonly #queued = new Set<K>();
  readonly #running = new Set<K>();
  /** Key to its backoff timer, and whether an add() may cut the wait short. */
  readonly #retrying = new Map<K, { timer: unknown; wakeOnAdd: boolean }>();
  /** Key to its pacing timer, and whether it was added during the hold (it runs when the hold ends). */
  readonly #holding = new Map<K, { timer: unknown; added: boolean }>();
  /** Running keys added again mid-sync: they run once more after it (client-go's dirty set). */
  readonly #rerun = new Set<K>();
  /** Consecutive failures per key; absent means none. */
  readonly #failures = new Map<K, number>();
  /** Tasks waiting for a rate-limit token: wake-up to timer, so shutdown can end the wait. */
  readonly #sleepers = new Map<() => void, unknown>();
  readonly #idleWaiters: (() => void)[] = [];
  #resyncTimer: unknown;
  #started = false;
  #stopped = false;

  constructor(options: WorkQueueOptions<K>) {
    const concurrency = options.concurrency ?? 2;
    check(concurrency === 'per-key' || (Number.isInteger(concurrency) && concurrency >= 1), "concurrency must be an integer >= 1 or 'per-key'");
    const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const permanentBackoff = { ...DEFAULT_PERMANENT_BACKOFF, ...options.permanentBackoff };
    for (const { baseMs, maxMs, jitter } of [backoff, permanentBackoff]) {
      check(baseMs > 0 && maxMs >= baseMs && Number.isFinite(maxMs), 'need 0 < baseMs <= maxMs');
      check(jitter >= 0 && jitter < 1, 'backoff.jitter must be in [0, 1)');
    }
    if (options.resync) {
      const intervalMs = options.resync.intervalMs ?? DEFAULT_RESYNC_INTERVAL_MS;
      check(intervalMs > 0, 'resync.intervalMs must be > 0');
      this.#resync = { intervalMs, keys: options.resync.keys };
    }
    this.#sync = options.sync;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#onResult = options.onResult;
    this.#onDepthChange = options.onDepthChange;
    this.#classify = options.classify ?? (() => 'transient');
    this.#backoff = backoff;
    this.#permanentBackoff = permanentBackoff;
    this.#bucket = new TokenBucket(
      { ...DEFAULT_RATE_LIMIT, ...options.rateLimit },
      this.#clock.now(),
    );
    this.#pq = new PQueue({ concurrency: concurrency === 'per-key' ? Infinity : concurrency, autoStart: false });
  }

  /** Keys waiting to start a sync (not running, not in backoff), like client-go's Len(). */
  get depth(): number {
    return this.#queued.size;
  }

  /**
   * Asks for a sync of key; ignored after shutdown, while it waits to run, and while it backs off
   * after a transient failure. A key backing off after a permanent failure runs at once.
   */
  add(key: K): void {
    if (this.#stopped || this.#queued.has(key)) return;
    const hold = this.#holding.get(key);
    if (hold) {
      hold.added = true;
      return;
    }
    const retry = this.#retrying.get(key);
    if (retry && !retry.wakeOnAdd) return;
    if (retry) {
      this.#clock.clearTimeout(retry.timer);
      this.#retrying.delete(key);
    }
    if (this.#running.has(key)) this.#rerun.add(key);
    else this.#enqueue(key);
  }

  /** Starts syncing (keys added before are kept) and the resync timer. Idempotent. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#pq.start();
    this.#scheduleResync();
  }

  /**
   * Stops for good: later adds are ignored, waiting keys and backoff timers are dropped, no new
   * sync starts, and in-flight syncs finish. Resolves true once they have, or false if timeoutMs
   * passes first.
   */
  async shutdown(timeoutMs?: number): Promise<boolean> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#clock.clearTimeout(this.#resyncTimer);
      for (const { timer } of [...this.#retrying.values(), ...this.#holding.values()]) this.#clock.clearTimeout(timer);
      this.#retrying.clear();
      this.#holding.clear();
      this.#queued.clear();
      this.#onDepthChange?.(0);
      this.#rerun.clear();
      this.#pq.clear();
      for (const [wake, timer] of this.#sleepers) {
        this.#clock.clearTimeout(timer);
        wake();
      }
      this.#sleepers.clear();
      this.#notifyIfIdle();
    }
    const drained = this.whenIdle().then(() => true);
    if (timeoutMs === undefined) return drained;
    let timer: unknown;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([drained, timedOut]);
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  /** Resolves when no key is waiting, running or in backoff (the resync timer does not count). */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #enqueue(key: K): void {
    this.#queued.add(key);
    this.#onDepthChange?.(this.#queued.size);
    void this.#pq.add(() => this.#run(key)).catch(ignoreCleared);
  }

  async #run(key: K): Promise<void> {
    // The token is taken inside the p-queue slot: the bucket is global, so while it is empty no
    // other sync could start anyway, and the key stays coalescible in #queued while it waits.
    const waitMs = this.#bucket.reserve(this.#clock.now());
    if (waitMs > 0) await this.#sleep(waitMs);
    if (this.#stopped) return;

    this.#queued.delete(key);
    this.#onDepthChange?.(this.#queued.size);
    this.#running.add(key);
    const attempt = (this.#failures.get(key) ?? 0) + 1;
    const startedAt = this.#clock.now();
    let failed = false;
    let error: unknown;
    let pacing: SyncPacing | undefined;
    try {
      pacing = (await this.#sync(key)) as SyncPacing | undefined;
    } catch (caught) {
      failed = true;
      error = caught;
    }
    const durationMs = this.#clock.now() - startedAt;
    this.#running.delete(key);
    const addedMeanwhile = this.#rerun.delete(key);
    if (failed) this.#failures.set(key, attempt);
    else this.#failures.delete(key);

    let retryInMs: number | undefined;
    const permanent = failed && this.#classify(error) === 'permanent';
    if (failed && !this.#stopped) {
      // An add during the failed sync is served by this retry, which starts after it.
      retryInMs = backoffDelay(attempt, permanent ? this.#permanentBackoff : this.#backoff, this.#random);
      this.#retryAfter(key, retryInMs, permanent);
    } else if (pacing && pacing.holdMs > 0 && !this.#stopped) {
      this.#holdFor(key, pacing.holdMs, addedMeanwhile);
    } else if (addedMeanwhile && !this.#stopped) {
      this.#enqueue(key);
    }
    this.#notifyIfIdle();
    this.#onResult?.(
      failed
        ? { key, ok: false, durationMs, attempt, error, retryInMs, permanent }
        : { key, ok: true, durationMs, attempt },
    );
  }

  #retryAfter(key: K, ms: number, wakeOnAdd: boolean): void {
    const timer = this.#clock.setTimeout(() => {
      this.#retrying.delete(key);
      this.add(key);
    }, ms);
    this.#retrying.set(key, { timer, wakeOnAdd });
  }

  #holdFor(key: K, ms: number, added: boolean): void {
    const timer = this.#clock.setTimeout(() => {
      const hold = this.#holding.get(key);
      this.#holding.delete(key);
      if (hold?.added) this.#enqueue(key);
      this.#notifyIfIdle();
    }, ms);
    this.#holding.set(key, { timer, added });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#sleepers.delete(resolve);
        resolve();
      }, ms);
      this.#sleepers.set(resolve, timer);
    });
  }

  #scheduleResync(): void {
    const resync = this.#resync;
    if (!resync) return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      // Rescheduled first, so a keys() that throws (an uncaught exception) does not also end
      // every later resync.
      this.#scheduleResync();
      for (const key of resync.keys()) this.add(key);
    }, resync.intervalMs);
  }

  /** A held key counts only once it was added during its hold: then a sync is still to come. */
  #isIdle(): boolean {
    const pending = [...this.#holding.values()].some((hold) => hold.added);
    return this.#queued.size === 0 && this.#running.size === 0 && this.#retrying.size === 0 && !pending;
  }

  #notifyIfIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
