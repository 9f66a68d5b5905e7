import { createHash } from 'node:crypto';
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import type { ObjectRef } from '../model/objects.js';
import { systemClock, type Clock } from '../queue/clock.js';
import { TokenBucket } from '../queue/token-bucket.js';
import { levelFor, RepeatFilter } from '../repeats.js';
import { KubeError } from './errors.js';
import { kubeCall } from './request.js';

export type EventType = 'Normal' | 'Warning';

/** Records Kubernetes Events. Never blocks or fails a sync: recording happens in the background. */
export interface EventRecorder {
  record(ref: ObjectRef, type: EventType, reason: string, message: string): void;
}

/** Where Events are written: the apiserver, or a fake in unit tests. */
export interface EventWriter {
  /** Throws KubeError kind Conflict when an Event of that name exists. */
  create(event: CoreV1Event): Promise<void>;
  /** Its count; throws KubeError kind NotFound when there is none. */
  count(namespace: string, name: string): Promise<number>;
  /** Throws KubeError kind NotFound when the Event has expired (the apiserver keeps them ~1 h). */
  update(namespace: string, name: string, change: Pick<CoreV1Event, 'count' | 'message' | 'lastTimestamp'>): Promise<void>;
}

export class KubeEventWriter implements EventWriter {
  constructor(private readonly core: CoreV1Api) {}

  async create(event: CoreV1Event): Promise<void> {
    const namespace = event.metadata.namespace ?? '';
    await kubeCall(`create Event ${namespace}/${event.metadata.name ?? ''}`, undefined, (options) => this.core.createNamespacedEvent({ namespace, body: event }, options));
  }

  async count(namespace: string, name: string): Promise<number> {
    const event = await kubeCall(`read Event ${namespace}/${name}`, undefined, (options) => this.core.readNamespacedEvent({ namespace, name }, options));
    return event.count ?? 1;
  }

  async update(namespace: string, name: string, change: Pick<CoreV1Event, 'count' | 'message' | 'lastTimestamp'>): Promise<void> {
    await kubeCall(
      `update Event ${namespace}/${name}`,
      undefined,
      (options) => this.core.patchNamespacedEvent({ namespace, name, body: change }, options),
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

export interface EventPolicy {
  /**
   * How long an (object, type, reason) is remembered after its last occurrence. Its Event, named
   * from the three, is continued even after that, for as long as the apiserver keeps it.
   */
  readonly windowMs: number;
  /** An Event already written is updated at most this often; occurrences meanwhile are summed. */
  readonly updateIntervalMs: number;
  /** Writes per object, client-go's spam filter: a burst, then one per refill interval. */
  readonly perObject: { readonly burst: number; readonly refillMs: number };
}

/** client-go's EventCorrelator numbers: 10-minute aggregation window, 25 writes then 1 per 5 min per object. */
export const DEFAULT_EVENT_POLICY: EventPolicy = { windowMs: 10 * 60_000, updateIntervalMs: 30_000, perObject: { burst: 25, refillMs: 5 * 60_000 } };

/** One (object, type, reason): at most one Event object in the cluster at a time. */
interface Series {
  readonly ref: ObjectRef;
  readonly type: EventType;
  readonly reason: string;
  /** Set once the Event exists. */
  name: string | undefined;
  /** Occurrences the Event already counted when this process took it over (another replica's, say). */
  base: number;
  firstAt: number;
  lastAt: number;
  /** Occurrences so far, and how many of them the Event in the cluster shows. */
  count: number;
  written: number;
  message: string;
  lastWriteAt: number;
  timer: unknown;
  writing: Promise<void> | undefined;
}

/**
 * Quiet Events, the way client-go's EventCorrelator makes them: every occurrence of the same
 * (object, type, reason) within the window goes into one Event whose count and message follow
 * the latest, updated at most every updateIntervalMs; a token bucket per object caps the writes,
 * delaying rather than dropping them. So a Corefile rewritten 1,000 times is one Event with count
 * 1,000, and an outage reported on every retry is one Event, not one per retry. The Event's name
 * is derived from (object, type, reason), so a restarted controller or a new leader continues it.
 */
export class AggregatingEventRecorder implements EventRecorder {
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #failures = new RepeatFilter();

  constructor(
    private readonly writer: EventWriter,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
    private readonly policy: EventPolicy = DEFAULT_EVENT_POLICY,
    private readonly wallClock: () => Date = () => new Date(),
    private readonly component = 'hairpin-proxy',
  ) {}

  record(ref: ObjectRef, type: EventType, reason: string, message: string): void {
    const now = this.clock.now();
    const key = seriesKey(ref, type, reason);
    let series = this.#series.get(key);
    if (!series || now - series.lastAt > this.policy.windowMs) {
      if (series) this.clock.clearTimeout(series.timer);
      series = { ref, type, reason, name: undefined, base: 0, firstAt: now, lastAt: now, count: 0, written: 0, message, lastWriteAt: 0, timer: undefined, writing: undefined };
      this.#series.set(key, series);
    }
    series.lastAt = now;
    series.count += 1;
    series.message = message.slice(0, 1024);
    this.#forgetOlderThan(now - this.policy.windowMs);
    this.#schedule(series);
  }

  /** Writes every pending occurrence now and stops the timers: call before the process exits. */
  async close(): Promise<void> {
    const pending = [...this.#series.values()];
    for (const series of pending) this.clock.clearTimeout(series.timer);
    await Promise.all(pending.map(async (series) => {
      await series.writing;
      if (series.count > series.written) await this.#write(series);
    }));
  }

  /** Writes now, or sets the one timer for when the update interval and the object's bucket allow. */
  #schedule(series: Series): void {
    if (series.timer !== undefined || series.writing) return;
    const now = this.clock.now();
    const notBefore = series.name === undefined ? now : series.lastWriteAt + this.policy.updateIntervalMs;
    if (notBefore > now) {
      series.timer = this.clock.setTimeout(() => {
        series.timer = undefined;
        this.#schedule(series);
      }, notBefore - now);
      return;
    }
    const throttledMs = this.#bucketFor(series.ref).reserve(now);
    if (throttledMs === 0) {
      void this.#write(series);
      return;
    }
    series.timer = this.clock.setTimeout(() => {
      series.timer = undefined;
      void this.#write(series);
    }, throttledMs);
  }

  async #write(series: Series): Promise<void> {
    const count = series.count;
    const message = series.message;
    const writing = this.#send(series, count, message).then(
      () => {
        series.written = count;
        if (this.#failures.succeeded('events') > 0) this.log.info('recording Kubernetes Events again');
        return true;
      },
      (error: unknown) => {
        const recurrence = this.#failures.failed('events', error instanceof Error ? error.message : String(error));
        this.log[levelFor(recurrence, 'warn')]({ err: error, reason: series.reason, object: objectOf(series.ref) }, 'could not record a Kubernetes Event');
        return false;
      },
    );
    series.writing = writing.then(() => undefined);
    const written = await writing;
    series.writing = undefined;
    series.lastWriteAt = this.clock.now();
    // Occurrences that arrived while writing go out with the next update. After a failed write the
    // next occurrence tries again: no retry loop against an apiserver that is away.
    const current = this.#series.get(seriesKey(series.ref, series.type, series.reason)) === series;
    if (written && current && series.count > series.written) this.#schedule(series);
  }

  async #send(series: Series, count: number, message: string): Promise<void> {
    const at = this.wallClock();
    if (series.name !== undefined) {
      try {
        await this.writer.update(series.ref.namespace, series.name, { count: series.base + count, message, lastTimestamp: at });
        return;
      } catch (error) {
        // Expired: the apiserver deletes Events after its event-ttl. Start a new one, counting
        // only what the expired one did not show.
        if (!(error instanceof KubeError && error.kind === 'NotFound')) throw error;
        series.base = -series.written;
      }
    }
    const name = eventName(series);
    const first = new Date(at.getTime() - (this.clock.now() - series.firstAt));
    try {
      await this.#create(series, name, series.base + count, message, first, at);
    } catch (error) {
      if (!(error instanceof KubeError && error.kind === 'Conflict')) throw error;
      // Another process (a restarted or previous leader) started this Event: continue its count.
      series.base += await this.writer.count(series.ref.namespace, name);
      await this.writer.update(series.ref.namespace, name, { count: series.base + count, message, lastTimestamp: at });
    }
    series.name = name;
  }

  async #create(series: Series, name: string, count: number, message: string, first: Date, at: Date): Promise<void> {
    await this.writer.create({
      metadata: { name, namespace: series.ref.namespace },
      involvedObject: {
        kind: series.ref.kind,
        apiVersion: series.ref.apiVersion,
        namespace: series.ref.namespace,
        name: series.ref.name,
        ...(series.ref.uid ? { uid: series.ref.uid } : {}),
        ...(series.ref.resourceVersion ? { resourceVersion: series.ref.resourceVersion } : {}),
      },
      type: series.type,
      reason: series.reason,
      message,
      source: { component: this.component },
      reportingComponent: this.component,
      firstTimestamp: first,
      lastTimestamp: at,
      count,
    });
  }

  #bucketFor(ref: ObjectRef): TokenBucket {
    const key = objectOf(ref);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket({ burst: this.policy.perObject.burst, perSecond: 1000 / this.policy.perObject.refillMs }, this.clock.now());
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  #forgetOlderThan(cutoff: number): void {
    for (const [key, series] of this.#series) {
      if (series.lastAt < cutoff && series.count === series.written && !series.writing) this.#series.delete(key);
    }
    const live = new Set([...this.#series.values()].map((series) => objectOf(series.ref)));
    for (const key of this.#buckets.keys()) if (!live.has(key)) this.#buckets.delete(key);
  }
}

function objectOf(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}/${ref.uid ?? ''}`;
}

/**
 * One name per (object, type, reason), like client-go's aggregate key: every process and replica
 * of the controller continues the same Event instead of adding its own.
 */
function eventName(series: Series): string {
  const digest = createHash('sha256').update(seriesKey(series.ref, series.type, series.reason)).digest('hex').slice(0, 16);
  return `${series.ref.name.slice(0, 200)}.hp${digest}`;
}

function seriesKey(ref: ObjectRef, type: EventType, reason: string): string {
  return `${objectOf(ref)}|${type}|${reason}`;
}
