import { ListWatch, Watch, type ConfigurationOptions, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { Cancelled } from '../cancel.js';
import { levelFor, RepeatFilter } from '../repeats.js';
import { kubeCall } from './request.js';
import { stripMetadata } from './slim.js';

/** Objects per list page: a large cluster's list arrives, and is slimmed, in pieces of this size (client-go's pager uses 500). */
export const LIST_PAGE_SIZE = 500;

/** One page of a list: the list call passes both to the apiserver (a list that ignores them returns everything at once). */
export interface ListPage {
  readonly limit: number;
  readonly _continue?: string;
}

/** What the cache keys objects by and tells versions apart by: all a slimmed object must keep. */
export interface Cached {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string };
}

export interface InformerSpec<T extends Cached> {
  /** For logs and readiness reports, e.g. "ingresses". */
  readonly name: string;
  /** The watch path, e.g. /apis/networking.k8s.io/v1/ingresses. */
  readonly path: string;
  /** The list call, one page at a time; options carry the per-request timeout. */
  readonly list: (options: ConfigurationOptions, page: ListPage) => Promise<KubernetesListObject<KubernetesObject>>;
  /**
   * What of each listed or watched object the cache keeps (client-go's transform function): only
   * its result is stored. Default: the object less managedFields and the last-applied copy.
   */
  readonly slim?: (object: KubernetesObject) => T;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

export interface InformerOptions {
  readonly log: Logger;
  /** Delay before restart attempt n (1-based): jittered exponential backoff. */
  readonly restartDelayMs: (attempt: number) => number;
}

/** One event of an informer: what happened, to which object (as cached). */
export interface Change<T> {
  readonly verb: 'add' | 'update' | 'delete';
  readonly object: T;
}

/**
 * A client-node informer that restarts itself. ListWatch gives up on any watch or list error other
 * than 410 Gone, and its start() resolves even when the initial list failed, so "synced" is
 * recorded here only when a list has really returned. Lists are bounded by the request timeout,
 * so an apiserver that never answers is a failure to restart from, not a hang.
 */
export class ResilientInformer<T extends Cached> {
  /** ListWatch reads only the metadata Cached names; what it holds is whatever slim returned. */
  private readonly listWatch: ListWatch<KubernetesObject>;
  private readonly listeners = new Set<(change: Change<T>) => void>();
  private readonly failures = new RepeatFilter();
  private synced = false;
  private attempts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Aborts a list in flight when the informer stops, so a silent apiserver cannot hold the process. */
  private lists = new AbortController();
  /** Why the last list or watch failed, until one succeeds: for the cache-sync timeout's message. */
  private lastError: unknown;

  constructor(kubeConfig: KubeConfig, private readonly spec: InformerSpec<T>, private readonly options: InformerOptions) {
    const slim = spec.slim ?? (stripMetadata as (object: KubernetesObject) => T);
    const list = async () => {
      const result = await listInPages(spec, slim, this.lists.signal);
      this.synced = true;
      this.recovered();
      // A relist after 410 Gone happens inside client-node; this line is the only trace of it.
      options.log.info({ informer: spec.name, items: result.items.length, pages: result.pages, resourceVersion: result.metadata.resourceVersion }, 'informer listed');
      return result;
    };
    this.listWatch = new ListWatch(spec.path, new SlimmingWatch(kubeConfig, slim), list, false, spec.labelSelector, spec.fieldSelector);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.listWatch.on(verb, (object) => {
        this.recovered();
        for (const listener of this.listeners) listener({ verb, object: object as T });
      });
    }
    this.listWatch.on('error', (error: unknown) => this.restartLater(error));
  }

  get name(): string {
    return this.spec.name;
  }

  /** Calls listener on every add, update and delete: the controller mostly only needs to know "look again". */
  onChange(listener: (change: Change<T>) => void): void {
    this.listeners.add(listener);
  }

  start(): void {
    this.stopped = false;
    if (this.lists.signal.aborted) this.lists = new AbortController();
    this.listWatch.start().catch((error: unknown) => this.restartLater(error));
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Why it has not synced yet (the last failure), or undefined when nothing has failed. */
  get failure(): unknown {
    return this.lastError;
  }

  list(): readonly T[] {
    return this.listWatch.list() as readonly Cached[] as readonly T[];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.lists.abort(new Cancelled('the informer stopped'));
    await this.listWatch.stop();
  }

  private recovered(): void {
    this.attempts = 0;
    this.lastError = undefined;
    const failures = this.failures.succeeded(this.spec.name);
    if (failures > 0) this.options.log.info({ informer: this.spec.name, failures }, 'informer recovered');
  }

  private restartLater(error: unknown): void {
    if (this.stopped || this.restartTimer !== undefined) return;
    this.attempts += 1;
    this.lastError = error;
    const delayMs = Math.round(this.options.restartDelayMs(this.attempts));
    const details = { informer: this.spec.name, attempt: this.attempts, retryInMs: delayMs, err: error };
    // An outage is reported when it starts (or its cause changes), not on every restart.
    const recurrence = this.failures.failed(this.spec.name, error instanceof Error ? error.message : String(error));
    this.options.log[levelFor(recurrence, 'warn')](details, 'informer stopped on an error; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      void this.listWatch.stop().then(() => this.start());
    }, delayMs);
    this.restartTimer.unref();
  }
}

/**
 * The whole list, a page at a time, each page slimmed before the next is asked for: the peak is
 * one page of full objects, not the whole cluster's. Pages of one list are one consistent snapshot
 * (the apiserver pins them to the first page's resourceVersion, which the watch then starts from);
 * a continue token that expired meanwhile is a 410 like any other failure, and the informer
 * restarts with a fresh list.
 */
export async function listInPages<T extends Cached>(
  spec: InformerSpec<T>,
  slim: (object: KubernetesObject) => T,
  signal: AbortSignal,
): Promise<{ items: KubernetesObject[]; metadata: { resourceVersion?: string }; pages: number }> {
  const items: KubernetesObject[] = [];
  let resourceVersion: string | undefined;
  let next: string | undefined;
  let pages = 0;
  do {
    const page: ListPage = { limit: LIST_PAGE_SIZE, ...(next === undefined ? {} : { _continue: next }) };
    const result = await kubeCall(`list ${spec.name}`, signal, (options) => spec.list(options, page));
    pages += 1;
    for (const item of result.items) items.push(slim(item) as KubernetesObject);
    resourceVersion = result.metadata?.resourceVersion;
    next = result.metadata?._continue || undefined;
  } while (next !== undefined);
  return { items, metadata: resourceVersion === undefined ? {} : { resourceVersion }, pages };
}

/**
 * A Watch whose events carry slimmed objects, so that what a watch delivers enters the cache as
 * lean as what a list delivers. ERROR events carry a Status, not an object, and pass unchanged.
 */
class SlimmingWatch extends Watch {
  constructor(
    kubeConfig: KubeConfig,
    private readonly slim: (object: KubernetesObject) => Cached,
  ) {
    super(kubeConfig);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, object: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(path, queryParams, (phase, object: KubernetesObject) => callback(phase, phase === 'ERROR' ? object : this.slim(object)), done);
  }
}

/** The informer caches did not sync in time: the apiserver is unreachable, silent, or refusing. */
export class CacheSyncTimeout extends Error {
  readonly kind = 'Unavailable';

  constructor(apiserver: string, timeoutMs: number, waiting: ReadonlyArray<{ name: string; failure: unknown }>) {
    const failure = waiting.find((informer) => informer.failure !== undefined)?.failure;
    const why = failure === undefined ? 'no answer' : failure instanceof Error ? failure.message : String(failure);
    super(`could not list ${waiting.map((i) => i.name).join(', ')} from the apiserver at ${apiserver} within ${timeoutMs / 1000}s: ${why}`);
    this.name = 'CacheSyncTimeout';
  }
}

export interface WaitForSyncOptions {
  readonly signal?: AbortSignal;
  /** Give up after this long with a CacheSyncTimeout (default: wait as long as it takes). */
  readonly timeoutMs?: number;
  /** The apiserver's URL, for the timeout's message. */
  readonly apiserver: string;
}

/** Resolves once every informer has listed successfully; logs the laggards while it waits. */
export async function waitForSync(
  informers: ReadonlyArray<ResilientInformer<KubernetesObject>>,
  log: Logger,
  options: WaitForSyncOptions,
): Promise<void> {
  const started = Date.now();
  let lastReport = started;
  const waiting = () => informers.filter((informer) => !informer.hasSynced());
  while (waiting().length > 0) {
    if (options.signal?.aborted) throw new Error('stopped before the caches synced');
    if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) {
      throw new CacheSyncTimeout(options.apiserver, options.timeoutMs, waiting().map((i) => ({ name: i.name, failure: i.failure })));
    }
    if (Date.now() - lastReport >= 10_000) {
      // Said once as a warning; the informers' own lines tell the rest.
      const level = lastReport === started ? 'warn' : 'debug';
      lastReport = Date.now();
      log[level]({ waiting: waiting().map((i) => i.name), waitedMs: lastReport - started, apiserver: options.apiserver }, 'still waiting for informer caches to sync');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
