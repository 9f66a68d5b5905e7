import { Writable } from 'node:stream';
import type { ConfigMapSnapshot, ConfigMapStore } from '../kube/configmaps.js';
import type { ObjectRef } from '../model/objects.js';
import { KubeError } from '../kube/errors.js';
import type { EventRecorder, EventType } from '../kube/events.js';
import type { LeaseRecord, LeaseSnapshot, LeaseStore } from '../kube/leases.js';
import { createLogger, type Logger } from '../log.js';

/** An in-memory ConfigMap with real optimistic-concurrency semantics. */
export class FakeConfigMapStore implements ConfigMapStore {
  readonly namespace = 'kube-system';
  readonly name = 'coredns';
  private resourceVersion = 1;
  writes = 0;
  reads = 0;
  /** Runs between our read and our write, once: plays a concurrent editor. */
  beforeNextWrite: ((store: FakeConfigMapStore) => void) | undefined;
  failNextReads = 0;
  /** Every write fails with this while set (a 422, say). */
  rejectWrites: KubeError | undefined;

  constructor(public data: Record<string, string> | undefined) {}

  async read(signal?: AbortSignal): Promise<ConfigMapSnapshot> {
    signal?.throwIfAborted();
    this.reads += 1;
    if (this.failNextReads > 0) {
      this.failNextReads -= 1;
      throw new KubeError('Unavailable', 'read ConfigMap', 503, 'apiserver down');
    }
    if (this.data === undefined) throw new KubeError('NotFound', 'read ConfigMap', 404, 'not found');
    return { data: { ...this.data }, labels: {}, resourceVersion: String(this.resourceVersion), ref: this.ref() };
  }

  async setKey(key: string, value: string, resourceVersion: string, signal?: AbortSignal): Promise<ConfigMapSnapshot> {
    const interloper = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    interloper?.(this);
    signal?.throwIfAborted();
    if (this.rejectWrites) throw this.rejectWrites;
    if (this.data === undefined) throw new KubeError('NotFound', 'update ConfigMap', 404, 'not found');
    if (resourceVersion !== String(this.resourceVersion)) throw new KubeError('Conflict', 'update ConfigMap', 409, 'the object has been modified');
    this.edit(key, value);
    this.writes += 1;
    return { data: { ...this.data }, labels: {}, resourceVersion: String(this.resourceVersion), ref: this.ref() };
  }

  /** A write by somebody else (kubectl edit, another controller). */
  edit(key: string, value: string): void {
    this.data = { ...this.data, [key]: value };
    this.resourceVersion += 1;
  }

  private ref(): ObjectRef {
    return { kind: 'ConfigMap', apiVersion: 'v1', namespace: this.namespace, name: this.name, uid: 'uid-coredns', resourceVersion: String(this.resourceVersion) };
  }
}

export interface RecordedEvent {
  readonly object: string;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

export class FakeEventRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];

  record(ref: ObjectRef, type: EventType, reason: string, message: string): void {
    this.events.push({ object: `${ref.kind}/${ref.namespace}/${ref.name}`, type, reason, message });
  }
}

/** A real pino logger whose lines are kept for assertions. */
export function captureLogger(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    log: createLogger('debug', sink),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** An in-memory Lease with the apiserver's optimistic concurrency. */
export class FakeLeaseStore implements LeaseStore {
  readonly namespace = 'hairpin-proxy';
  readonly name = 'hairpin-proxy';
  private resourceVersion = 0;
  record: LeaseRecord | undefined;
  /** Every read and write fails while set: an unreachable apiserver. */
  down = false;
  /** The next replace() waits (after its read, before landing) until the returned gate opens. */
  #gate: Promise<void> | undefined;

  /** Holds the next replace() in flight, as a slow apiserver would; call the result to let it land. */
  holdNextReplace(): () => void {
    let open!: () => void;
    this.#gate = new Promise((resolve) => (open = resolve));
    return open;
  }

  /** Another candidate writes the Lease (a second identity takes it). */
  takeOver(holder: string, leaseDurationSeconds: number, now: Date): void {
    this.write({ holder, leaseDurationSeconds, transitions: (this.record?.transitions ?? 0) + 1, acquireTime: now, renewTime: now });
  }

  async read(): Promise<LeaseSnapshot | undefined> {
    this.check('read Lease');
    return this.record && { record: { ...this.record }, resourceVersion: String(this.resourceVersion) };
  }

  async create(record: LeaseRecord): Promise<LeaseSnapshot> {
    this.check('create Lease');
    if (this.record) throw new KubeError('Conflict', 'create Lease', 409, 'already exists');
    return this.write(record);
  }

  async replace(record: LeaseRecord, resourceVersion: string): Promise<LeaseSnapshot> {
    this.check('update Lease');
    const gate = this.#gate;
    this.#gate = undefined;
    if (gate) await gate;
    if (resourceVersion !== String(this.resourceVersion)) throw new KubeError('Conflict', 'update Lease', 409, 'the object has been modified');
    return this.write(record);
  }

  private write(record: LeaseRecord): LeaseSnapshot {
    this.record = { ...record };
    this.resourceVersion += 1;
    return { record: { ...record }, resourceVersion: String(this.resourceVersion) };
  }

  private check(operation: string): void {
    if (this.down) throw new KubeError('Unavailable', operation, undefined, 'connection refused');
  }
}
