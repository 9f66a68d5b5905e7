import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { KubeError } from './errors.js';
import { kubeCall } from './request.js';

/** The fields of a coordination.k8s.io Lease that leader election reads and writes. */
export interface LeaseRecord {
  readonly holder: string;
  readonly leaseDurationSeconds: number;
  readonly transitions: number;
  readonly acquireTime: Date | undefined;
  readonly renewTime: Date | undefined;
}

export interface LeaseSnapshot {
  readonly record: LeaseRecord;
  readonly resourceVersion: string;
}

/** The one Lease the controller contends for. A port, so the elector can be tested with a fake. */
export interface LeaseStore {
  readonly namespace: string;
  readonly name: string;
  /** undefined when the Lease does not exist yet. */
  read(): Promise<LeaseSnapshot | undefined>;
  /** Throws KubeError kind Conflict when somebody created it first. */
  create(record: LeaseRecord): Promise<LeaseSnapshot>;
  /** Optimistic: throws KubeError kind Conflict when resourceVersion is stale. */
  replace(record: LeaseRecord, resourceVersion: string): Promise<LeaseSnapshot>;
}

export class KubeLeaseStore implements LeaseStore {
  constructor(private readonly api: CoordinationV1Api, readonly namespace: string, readonly name: string) {}

  async read(): Promise<LeaseSnapshot | undefined> {
    try {
      return snapshotOf(await kubeCall(`read ${this.#what}`, undefined, (options) => this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }, options)));
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'NotFound') return undefined;
      throw error;
    }
  }

  async create(record: LeaseRecord): Promise<LeaseSnapshot> {
    const body = this.leaseOf(record);
    return snapshotOf(await kubeCall(`create ${this.#what}`, undefined, (options) => this.api.createNamespacedLease({ namespace: this.namespace, body }, options)));
  }

  async replace(record: LeaseRecord, resourceVersion: string): Promise<LeaseSnapshot> {
    const body = this.leaseOf(record, resourceVersion);
    return snapshotOf(
      await kubeCall(`update ${this.#what}`, undefined, (options) => this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }, options)),
    );
  }

  get #what(): string {
    return `Lease ${this.namespace}/${this.name}`;
  }

  private leaseOf(record: LeaseRecord, resourceVersion?: string): V1Lease {
    // MicroTime: the apiserver wants six fractional digits, which V1MicroTime writes.
    const micro = (date: Date | undefined) => (date ? new V1MicroTime(date.getTime()) : undefined);
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      spec: {
        holderIdentity: record.holder,
        leaseDurationSeconds: record.leaseDurationSeconds,
        leaseTransitions: record.transitions,
        acquireTime: micro(record.acquireTime),
        renewTime: micro(record.renewTime),
      },
    };
  }
}

function snapshotOf(lease: V1Lease): LeaseSnapshot {
  const spec = lease.spec ?? {};
  const date = (value: Date | string | undefined) => (value === undefined ? undefined : new Date(value));
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holder: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      transitions: spec.leaseTransitions ?? 0,
      acquireTime: date(spec.acquireTime),
      renewTime: date(spec.renewTime),
    },
  };
}
