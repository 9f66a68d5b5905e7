import type { ConfigMapSnapshot, ConfigMapStore } from '../kube/configmaps.js';
import { KubeError } from '../kube/errors.js';
import type { Logger } from '../log.js';
import type { ObjectRef } from '../model/objects.js';
import { lineDiff } from './diff.js';

/** A pure edit of the Corefile text, seeing the ConfigMap's labels and keys; throws for a Corefile it must not touch. */
export type CorefileEdit = (corefile: string, configMap: { readonly labels: Readonly<Record<string, string>>; readonly data: Readonly<Record<string, string>> }) => string;

export interface SinkOutcome {
  readonly action: 'unchanged' | 'updated' | 'dry-run';
  readonly diff: string;
  readonly attempts: number;
}

export interface SinkContext {
  readonly log: Logger;
  readonly dryRun: boolean;
  /** Cancels the sync: nothing is written after it aborts, and a request in flight ends. */
  readonly signal?: AbortSignal;
}

const MAX_ATTEMPTS = 5;
/** Writes remembered for wrote(): an echo arrives within moments of its write. */
const RECENT_WRITES = 8;

/**
 * Owns the CoreDNS ConfigMap: read, edit, compare, write only on change, optimistically. A 409
 * means somebody else wrote in between: their edit is re-read and ours re-applied on top of it.
 * An edit that throws (a Corefile we must not touch) writes nothing and rethrows.
 */
export class CorednsSink {
  #object: ObjectRef;
  /** resourceVersions of our latest writes: their watch events are echoes, not news. */
  readonly #written: string[] = [];

  /** What this sink last wrote: newer than a cache that still shows an earlier write of ours. */
  #lastWritten: ConfigMapSnapshot | undefined;

  /**
   * cached: the ConfigMap as an informer holds it, for the first attempt of each apply (a GET of
   * a large Corefile costs tens of ms); a stale one only costs a 409, after which it reads afresh.
   */
  constructor(
    private readonly store: ConfigMapStore,
    readonly key: string,
    private readonly cached?: () => ConfigMapSnapshot | undefined,
  ) {
    this.#object = { kind: 'ConfigMap', apiVersion: 'v1', namespace: store.namespace, name: store.name };
  }

  get location(): string {
    return `ConfigMap ${this.store.namespace}/${this.store.name} key ${this.key}`;
  }

  /** The ConfigMap, with its uid once it has been read: what Events about the Corefile are about. */
  get object(): ObjectRef {
    return this.#object;
  }

  async apply(edit: CorefileEdit, context: SinkContext): Promise<SinkOutcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const { snapshot, corefile: current } = await this.#read(context.signal, attempt === 1);
      const next = edit(current, snapshot);
      if (next === current) return { action: 'unchanged', diff: '', attempts: attempt };
      const diff = lineDiff(current, next);
      if (context.dryRun) {
        context.log.info({ diff, configMap: this.location }, 'dry run: would update the Corefile');
        return { action: 'dry-run', diff, attempts: attempt };
      }
      try {
        const written = await this.store.setKey(this.key, next, snapshot.resourceVersion, context.signal);
        this.#written.push(written.resourceVersion);
        this.#lastWritten = written;
        if (this.#written.length > RECENT_WRITES) this.#written.shift();
        context.log.info({ diff, configMap: this.location, resourceVersion: written.resourceVersion, attempt }, 'updated the Corefile');
        return { action: 'updated', diff, attempts: attempt };
      } catch (error) {
        if (!(error instanceof KubeError && error.kind === 'Conflict')) throw error;
        context.log.info({ configMap: this.location, attempt }, 'the Corefile changed under us; re-reading');
      }
    }
    throw new KubeError('Conflict', `update ${this.location}`, 409, `still conflicting after ${MAX_ATTEMPTS} attempts`);
  }

  /** Whether resourceVersion is one this sink wrote (of its last few writes). */
  wrote(resourceVersion: string): boolean {
    return resourceVersion !== '' && this.#written.includes(resourceVersion);
  }

  /** The cached ConfigMap, or what we wrote since if the cache still shows an earlier write of ours. */
  #known(): ConfigMapSnapshot | undefined {
    const cached = this.cached?.();
    if (cached?.data[this.key] === undefined) return undefined;
    const last = this.#lastWritten;
    return last && this.wrote(cached.resourceVersion) && cached.resourceVersion !== last.resourceVersion ? last : cached;
  }

  async #read(signal: AbortSignal | undefined, cacheFirst: boolean) {
    const known = cacheFirst ? this.#known() : undefined;
    const snapshot = known ?? (await this.#fetch(signal));
    this.#object = { ...snapshot.ref, resourceVersion: undefined };
    const corefile = snapshot.data[this.key];
    if (corefile === undefined) throw new KubeError('Invalid', `read ${this.location}`, undefined, `the ConfigMap has no key "${this.key}"`);
    return { snapshot, corefile };
  }

  async #fetch(signal: AbortSignal | undefined): Promise<ConfigMapSnapshot> {
    return this.store.read(signal).catch((error: unknown) => {
      throw error instanceof KubeError && error.kind === 'NotFound'
        ? new KubeError('NotFound', `read ${this.location}`, 404, 'not found: is CoreDNS the cluster DNS? Where it is not (GKE\'s kube-dns) or may not be edited (EKS Auto Mode, GKE Autopilot), use --coredns-mode external-dns')
        : error;
    });
  }
}
