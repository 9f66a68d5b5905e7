import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.js';

export interface InformerSpec<T extends KubernetesObject> {
  /** For logs and readiness reports, e.g. "ingresses". */
  readonly name: string;
  /** The watch path, e.g. /apis/networking.k8s.io/v1/ingresses. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

export interface InformerOptions {
  readonly log: Logger;
  /** Called on every add, update and delete: the controller only needs to know "look again". */
  readonly onChange: () => void;
  /** Delay before restart attempt n (1-based): jittered exponential backoff. */
  readonly restartDelayMs: (attempt: number) => number;
}

/**
 * A client-node informer that restarts itself. ListWatch gives up on any watch or list error other
 * than 410 Gone, and its start() resolves even when the initial list failed, so "synced" is
 * recorded here only when a list has really returned.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private readonly listWatch: ListWatch<T>;
  private synced = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(kubeConfig: KubeConfig, private readonly spec: InformerSpec<T>, private readonly options: InformerOptions) {
    const list = async () => {
      const result = await spec.list();
      this.synced = true;
      this.failures = 0;
      // A relist after 410 Gone happens inside client-node; this line is the only trace of it.
      options.log.info({ informer: spec.name, items: result.items.length, resourceVersion: result.metadata?.resourceVersion }, 'informer listed');
      return result;
    };
    this.listWatch = new ListWatch<T>(spec.path, new Watch(kubeConfig), list, false, spec.labelSelector, spec.fieldSelector);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.listWatch.on(verb, () => {
        this.failures = 0;
        options.onChange();
      });
    }
    this.listWatch.on('error', (error: unknown) => this.restartLater(error));
  }

  get name(): string {
    return this.spec.name;
  }

  start(): void {
    this.stopped = false;
    this.listWatch.start().catch((error: unknown) => this.restartLater(error));
  }

  hasSynced(): boolean {
    return this.synced;
  }

  list(): readonly T[] {
    return this.listWatch.list();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.listWatch.stop();
  }

  private restartLater(error: unknown): void {
    if (this.stopped || this.restartTimer !== undefined) return;
    this.failures += 1;
    const delayMs = Math.round(this.options.restartDelayMs(this.failures));
    this.options.log.warn(
      { informer: this.spec.name, attempt: this.failures, retryInMs: delayMs, err: error },
      'informer stopped on an error; restarting',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      void this.listWatch.stop().then(() => this.start());
    }, delayMs);
    this.restartTimer.unref();
  }
}

/** Resolves once every informer has listed successfully; logs the laggards while it waits. */
export async function waitForSync(
  informers: ReadonlyArray<ResilientInformer<KubernetesObject>>,
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const started = Date.now();
  let lastReport = started;
  while (!informers.every((informer) => informer.hasSynced())) {
    if (signal?.aborted) throw new Error('stopped before the caches synced');
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      const waiting = informers.filter((i) => !i.hasSynced()).map((i) => i.name);
      log.warn({ waiting, waitedMs: lastReport - started }, 'still waiting for informer caches to sync');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
