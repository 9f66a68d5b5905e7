import type { Logger } from '../log.js';

export interface RemovalOptions {
  /** Whether this install is being removed (kube/removal.ts RemovalGuard.removing). */
  readonly removing: () => Promise<boolean>;
  /** Removes everything written to DNS (reconcile/uninstall.ts). */
  readonly cleanUp: () => Promise<void>;
  /** Lets the cleanup identity go (RemovalGuard.release). */
  readonly release: () => Promise<void>;
  readonly log: Logger;
}

/**
 * The controller's side of removal (see kube/removal.ts for the API side): once the run loop has
 * stopped, if the install is being removed, clean up within the pod's termination grace. Every
 * replica does it after its own last write, so the last replica to stop leaves DNS clean. A
 * rollout, a drain or a restart finds nothing to do.
 */
export class Removal {
  constructor(private readonly o: RemovalOptions) {}

  async finish(withinMs: number): Promise<boolean> {
    const work = async () => {
      if (!(await this.o.removing())) return false;
      this.o.log.info('this install is being deleted: removing everything hairpin-proxy wrote to DNS');
      await this.o.cleanUp();
      await this.o.release();
      return true;
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not done within ${withinMs} ms`)), withinMs);
    });
    try {
      return await Promise.race([work(), deadline]);
    } catch (error) {
      this.o.log.error({ err: error }, 'the removal cleanup failed: run `hairpin-proxy uninstall` to finish it');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
