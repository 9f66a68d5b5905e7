import { Cancelled, isCancelled } from '../cancel.js';
import type { Logger } from '../log.js';
import { systemClock, WorkQueue, type BackoffOptions, type Clock, type RetryClass, type SyncPacing } from '../queue/index.js';

/** Leader election as the runner needs it (LeaderElector has it). */
export interface Leadership {
  /** Resolves once leading, with a signal that aborts when leadership is lost, or early when stop aborts. */
  lead(stop: AbortSignal): Promise<AbortSignal>;
  /** Hands leadership back; waits for any election round in flight first. */
  release(): Promise<void>;
}

export interface RunnerOptions {
  /** Every key there is now: each term starts by syncing all of them, and resyncs repeat it. */
  readonly keys: () => Iterable<string>;
  /** One sync; must end promptly (rejecting with a Cancelled) once signal aborts. May hold its key (paced writes). */
  readonly sync: (key: string, signal: AbortSignal) => Promise<SyncPacing | undefined>;
  /** Absent: this process always leads. */
  readonly leadership?: Leadership;
  readonly classify: (error: unknown) => RetryClass;
  readonly backoff: BackoffOptions;
  readonly resyncMs: number;
  readonly log: Logger;
  readonly onDepthChange?: (depth: number) => void;
  readonly clock?: Clock;
  readonly random?: () => number;
}

/** How long a term's cancelled syncs may take to end before the runner stops waiting for them. */
const CANCEL_GRACE_MS = 10_000;

/**
 * The run loop: lead, work, stand by when the lease is lost, lead again, until stopped. Each
 * term of leadership has its own work queue and its own AbortSignal; when the term ends, that
 * signal cancels the syncs in flight at once (a deposed leader stops writing, it does not drain),
 * and the lease is released only after they have ended, so nothing is written after it.
 */
export class Runner {
  readonly #o: RunnerOptions;
  readonly #clock: Clock;
  #queue: WorkQueue<string> | undefined;

  constructor(options: RunnerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Asks for syncs of keys. Ignored while standing by: every term starts with a sync of all keys. */
  enqueue(keys: Iterable<string>): void {
    for (const key of keys) this.#queue?.add(key);
  }

  /** Resolves once stop has aborted, the current term has ended and the lease is released. */
  async run(stop: AbortSignal): Promise<void> {
    try {
      for (;;) {
        const lost = this.#o.leadership ? await this.#o.leadership.lead(stop) : new AbortController().signal;
        if (stop.aborted) return;
        if ((await this.#term(stop, lost)) === 'stopped') return;
        this.#o.log.info('standing by: another replica may lead now');
      }
    } finally {
      await this.#o.leadership?.release();
    }
  }

  async #term(stop: AbortSignal, lost: AbortSignal): Promise<'stopped' | 'lost'> {
    const work = new AbortController();
    const queue = new WorkQueue<string>({
      sync: (key) => this.#o.sync(key, work.signal),
      concurrency: 'per-key',
      classify: this.#o.classify,
      backoff: this.#o.backoff,
      resync: { intervalMs: this.#o.resyncMs, keys: this.#o.keys },
      clock: this.#clock,
      ...(this.#o.random ? { random: this.#o.random } : {}),
      ...(this.#o.onDepthChange ? { onDepthChange: this.#o.onDepthChange } : {}),
      onResult: ({ key, ok, error, retryInMs, permanent }) => {
        if (!ok && !isCancelled(error)) this.#o.log.debug({ key, retryInMs, permanent }, 'sync will be retried');
      },
    });
    this.#queue = queue;
    queue.start();
    this.enqueue(this.#o.keys());

    const ended = await new Promise<'stopped' | 'lost'>((resolve) => {
      if (stop.aborted) resolve('stopped');
      if (lost.aborted) resolve('lost');
      stop.addEventListener('abort', () => resolve('stopped'), { once: true });
      lost.addEventListener('abort', () => resolve('lost'), { once: true });
    });
    this.#queue = undefined;
    const why = ended === 'lost' ? 'the leader lease was lost' : 'shutting down';
    this.#o.log.info({ reason: why }, 'cancelling the syncs in flight');
    work.abort(new Cancelled(why));
    if (!(await queue.shutdown(CANCEL_GRACE_MS))) {
      this.#o.log.warn({ graceMs: CANCEL_GRACE_MS }, 'syncs in flight did not end after being cancelled');
    }
    return ended;
  }
}
