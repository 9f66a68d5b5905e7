import type { Logger } from '../log.js';
import type { Leadership } from './runner.js';

/** How often a running controller asks whether its Deployment is being deleted. */
export const REMOVAL_POLL_MS = 5_000;

export interface RemovalOptions {
  /** True while the install is being removed and its cleanup is still owed (kube/removal.ts). */
  readonly removing: () => Promise<boolean>;
  /** Removes everything written to DNS (reconcile/uninstall.ts). */
  readonly cleanUp: () => Promise<void>;
  /** Lets the install's deletion complete (RemovalGuard.release). */
  readonly release: () => Promise<void>;
  /** Cleanups are serialized through the lease, so no leader can write after one. */
  readonly leadership?: Leadership;
  readonly log: Logger;
  readonly pollMs?: number;
}

/**
 * The controller's side of removal (see kube/removal.ts for the API side): notices that its
 * Deployment is being deleted, so the run loop stops writing, and then does the cleanup once.
 */
export class Removal {
  readonly #detected = new AbortController();

  constructor(private readonly o: RemovalOptions) {}

  /** Aborts when removal is detected; polls until `stop` aborts. */
  watch(stop: AbortSignal): AbortSignal {
    const timer = setInterval(() => {
      this.o.removing().then(
        (removing) => {
          if (!removing || this.#detected.signal.aborted) return;
          this.o.log.info('this install is being deleted: stopping, then removing everything hairpin-proxy wrote to DNS');
          this.#detected.abort();
        },
        (error: unknown) => this.o.log.debug({ err: error }, 'cannot tell whether this install is being deleted'),
      );
    }, this.o.pollMs ?? REMOVAL_POLL_MS);
    timer.unref();
    const clear = () => clearInterval(timer);
    stop.addEventListener('abort', clear, { once: true });
    this.#detected.signal.addEventListener('abort', clear, { once: true });
    return this.#detected.signal;
  }

  /**
   * After the run loop stopped (removal detected, or SIGTERM): if the install is being removed,
   * take the lease (so the leader has stopped writing), clean up and release, within `withinMs`
   * (the pod's termination grace). A rollout or a restart finds nothing to do.
   */
  async finish(withinMs: number): Promise<boolean> {
    const deadline = AbortSignal.timeout(withinMs);
    try {
      if (!(await this.o.removing())) return false;
      if (this.o.leadership) {
        await this.o.leadership.lead(deadline);
        deadline.throwIfAborted();
      }
      try {
        // Another replica may have finished while this one waited for the lease.
        if (!(await this.o.removing())) return false;
        await this.o.cleanUp();
        await this.o.release();
        return true;
      } finally {
        await this.o.leadership?.release();
      }
    } catch (error) {
      this.o.log.error({ err: error }, 'the removal cleanup failed: run `hairpin-proxy uninstall` to finish it');
      return false;
    }
  }
}
