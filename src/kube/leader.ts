import type { Logger } from '../log.js';
import { systemClock, type Clock } from '../queue/clock.js';
import { levelFor, RepeatFilter } from '../repeats.js';
import { KubeError } from './errors.js';
import type { LeaseRecord, LeaseStore } from './leases.js';

export interface LeaderElectionOptions {
  readonly store: LeaseStore;
  /** Unique among candidates: the pod name, or host and pid. */
  readonly identity: string;
  /** How long a lease lasts without renewal before another candidate may take it. */
  readonly leaseDurationMs: number;
  /** The leader renews this often. */
  readonly renewIntervalMs: number;
  /** A leader that has not renewed for this long stops leading (< leaseDurationMs, so it stops first). */
  readonly renewDeadlineMs: number;
  /** A candidate tries this often. */
  readonly retryIntervalMs: number;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly wallClock?: () => Date;
}

/** client-go's proportions: 15 s lease, renew every 2 s, give up leading after 10 s without. */
export function leaseTimings(leaseDurationMs: number): Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'renewIntervalMs' | 'retryIntervalMs'> {
  const renewIntervalMs = Math.round(leaseDurationMs / 7.5);
  return { leaseDurationMs, renewDeadlineMs: Math.round((leaseDurationMs * 2) / 3), renewIntervalMs, retryIntervalMs: renewIntervalMs };
}

/** What one election round found. */
type Round = 'ours' | 'theirs' | 'failed';

/** One stretch of leadership: its timers, and the renewal in flight, if any. */
interface Term {
  ended: boolean;
  renewTimer: unknown;
  deadlineTimer: unknown;
}

/**
 * Leader election on a coordination.k8s.io Lease, with client-go's semantics: a lease is expired
 * when its record has not changed for its duration *as observed on this candidate's own
 * monotonic clock*, so clock skew between nodes cannot hand the lease to two holders; every write
 * is optimistic (resourceVersion), so two candidates racing for a free lease get one winner.
 *
 * A leader stops leading the moment it knows it may no longer lead: when a renewal finds another
 * holder, or when renewDeadlineMs pass without a successful renewal (a timer, so a renewal that
 * hangs cannot stretch it). release() waits for a round in flight, so none lands after it.
 */
export class LeaderElector {
  readonly #o: LeaderElectionOptions;
  readonly #clock: Clock;
  readonly #wall: () => Date;
  readonly #failures = new RepeatFilter();
  #observed: { record: string; at: number; durationMs: number } | undefined;
  #lastRenewAt = 0;
  #term: Term | undefined;
  #inFlight: Promise<Round> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#wall = options.wallClock ?? (() => new Date());
  }

  get leading(): boolean {
    return this.#term !== undefined && !this.#term.ended;
  }

  /** Resolves once this candidate holds the lease; rejects when signal aborts first. */
  async acquire(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new Error('stopped before becoming the leader');
      if (await this.tryAcquireOrRenew()) {
        this.#o.log.info({ lease: this.#leaseName(), identity: this.#o.identity }, 'became the leader');
        return;
      }
      if (attempt === 1) this.#o.log.info({ lease: this.#leaseName(), holder: this.#holder() }, 'another replica leads; standing by');
      await this.#sleep(this.#o.retryIntervalMs, signal);
    }
  }

  /**
   * acquire() then hold(): the returned signal aborts when the lease is lost. A stop ends the
   * wait early (the caller sees stop.aborted).
   */
  async lead(stop: AbortSignal): Promise<AbortSignal> {
    this.#o.log.info('waiting for the leader lease');
    const lost = new AbortController();
    if (!(await this.acquire(stop).then(() => true, () => false))) return lost.signal;
    this.hold(() => lost.abort());
    return lost.signal;
  }

  /** Renews every renewIntervalMs; calls onLost once when leadership ends by itself. */
  hold(onLost: () => void): void {
    const term: Term = { ended: false, renewTimer: undefined, deadlineTimer: undefined };
    this.#term = term;
    const lose = (reason: string) => {
      if (term.ended) return;
      this.#end(term);
      this.#o.log.error({ lease: this.#leaseName(), holder: this.#holder(), reason }, 'lost the leader lease');
      onLost();
    };
    const armDeadline = () => {
      this.#clock.clearTimeout(term.deadlineTimer);
      const left = this.#lastRenewAt + this.#o.renewDeadlineMs - this.#clock.now();
      term.deadlineTimer = this.#clock.setTimeout(() => lose(`not renewed for ${this.#o.renewDeadlineMs} ms`), left);
    };
    const renew = async () => {
      const result = await this.#round();
      if (term.ended) return;
      if (result === 'theirs') return lose('another replica holds it');
      if (result === 'ours') armDeadline();
      term.renewTimer = this.#clock.setTimeout(() => void renew(), this.#o.renewIntervalMs);
    };
    armDeadline();
    term.renewTimer = this.#clock.setTimeout(() => void renew(), this.#o.renewIntervalMs);
  }

  /** Stops renewing and hands the lease back at once, so a standby need not wait for it to expire. */
  async release(): Promise<void> {
    if (this.#term) this.#end(this.#term);
    this.#term = undefined;
    await this.#inFlight;
    try {
      const current = await this.#o.store.read();
      if (current?.record.holder !== this.#o.identity) return;
      await this.#o.store.replace({ ...current.record, holder: '', leaseDurationSeconds: 1, renewTime: this.#wall() }, current.resourceVersion);
      this.#o.log.info({ lease: this.#leaseName() }, 'released the leader lease');
    } catch (error) {
      this.#o.log.warn({ err: error }, 'could not release the leader lease; it expires by itself');
    }
  }

  /** One round: take a free or expired lease, or renew our own. False when another holds it. */
  async tryAcquireOrRenew(): Promise<boolean> {
    return (await this.#round()) === 'ours';
  }

  #round(): Promise<Round> {
    const round = this.#tryRound().finally(() => {
      if (this.#inFlight === round) this.#inFlight = undefined;
    });
    this.#inFlight = round;
    return round;
  }

  async #tryRound(): Promise<Round> {
    const now = this.#clock.now();
    const wall = this.#wall();
    const ours: LeaseRecord = {
      holder: this.#o.identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      transitions: 0,
      acquireTime: wall,
      renewTime: wall,
    };
    try {
      const current = await this.#o.store.read();
      if (!current) {
        this.#observe(await this.#o.store.create(ours).then((s) => s.record), now);
        return this.#won(now);
      }
      this.#observe(current.record, now);
      const holder = current.record.holder;
      if (holder !== '' && holder !== this.#o.identity && !this.#expired(now)) return this.#recovered('theirs');
      const renewing = holder === this.#o.identity;
      const record: LeaseRecord = renewing
        ? { ...current.record, leaseDurationSeconds: ours.leaseDurationSeconds, renewTime: wall }
        : { ...ours, transitions: current.record.transitions + 1 };
      this.#observe((await this.#o.store.replace(record, current.resourceVersion)).record, now);
      return this.#won(now);
    } catch (error) {
      // A conflict means somebody else wrote first: the next round reads what they wrote.
      if (error instanceof KubeError && error.kind === 'Conflict') return 'failed';
      const message = error instanceof Error ? error.message : String(error);
      this.#o.log[levelFor(this.#failures.failed('lease', message), 'warn')]({ lease: this.#leaseName(), err: error }, 'leader election round failed');
      return 'failed';
    }
  }

  #won(now: number): Round {
    this.#lastRenewAt = now;
    return this.#recovered('ours');
  }

  #recovered(round: Round): Round {
    const failures = this.#failures.succeeded('lease');
    if (failures > 0) this.#o.log.info({ lease: this.#leaseName(), failedRounds: failures }, 'leader election reaches the Lease again');
    return round;
  }

  #end(term: Term): void {
    term.ended = true;
    this.#clock.clearTimeout(term.renewTimer);
    this.#clock.clearTimeout(term.deadlineTimer);
  }

  #observe(record: LeaseRecord, now: number): void {
    const key = JSON.stringify(record);
    if (this.#observed?.record !== key) this.#observed = { record: key, at: now, durationMs: record.leaseDurationSeconds * 1000 };
  }

  #expired(now: number): boolean {
    return this.#observed !== undefined && this.#observed.at + this.#observed.durationMs <= now;
  }

  #holder(): string {
    return this.#observed ? (JSON.parse(this.#observed.record) as LeaseRecord).holder : '';
  }

  #leaseName(): string {
    return `${this.#o.store.namespace}/${this.#o.store.name}`;
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#clock.clearTimeout(handle);
        reject(new Error('stopped before becoming the leader'));
      };
      const handle = this.#clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
