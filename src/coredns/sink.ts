import type { ConfigMapStore } from '../kube/configmaps.js';
import { KubeError } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';
import { CorefileError } from './corefile.js';
import { lineDiff } from './diff.js';

/** A pure edit of the Corefile text; throws CorefileError for a Corefile it must not touch. */
export type CorefileEdit = (corefile: string) => string;

export interface SinkOutcome {
  readonly action: 'unchanged' | 'updated' | 'dry-run';
  readonly diff: string;
  readonly attempts: number;
}

export interface SinkContext {
  readonly log: Logger;
  readonly dryRun: boolean;
}

const MAX_ATTEMPTS = 5;

/**
 * Owns the CoreDNS ConfigMap: read, edit, compare, write only on change, optimistically. A 409
 * means somebody else wrote in between: their edit is re-read and ours re-applied on top of it.
 */
export class CorednsSink {
  constructor(
    private readonly store: ConfigMapStore,
    private readonly key: string,
    private readonly events: EventRecorder,
  ) {}

  get location(): string {
    return `ConfigMap ${this.store.namespace}/${this.store.name} key ${this.key}`;
  }

  async apply(edit: CorefileEdit, context: SinkContext): Promise<SinkOutcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const snapshot = await this.store.read().catch((error: unknown) => {
        throw error instanceof KubeError && error.kind === 'NotFound'
          ? new KubeError('NotFound', `read ${this.location}`, 404, 'not found: is CoreDNS the cluster DNS? (GKE uses kube-dns, which is not supported)')
          : error;
      });
      const current = snapshot.data[this.key];
      if (current === undefined) {
        throw new KubeError('Invalid', `read ${this.location}`, undefined, `the ConfigMap has no key "${this.key}"`);
      }
      let next: string;
      try {
        next = edit(current);
      } catch (error) {
        if (error instanceof CorefileError) {
          await this.events.record(snapshot.ref, 'Warning', 'InvalidCorefile', `Not edited by hairpin-proxy: ${error.message}`);
        }
        throw error;
      }
      if (next === current) return { action: 'unchanged', diff: '', attempts: attempt };
      const diff = lineDiff(current, next);
      if (context.dryRun) {
        context.log.info({ diff, configMap: this.location }, 'dry run: would update the Corefile');
        return { action: 'dry-run', diff, attempts: attempt };
      }
      try {
        const written = await this.store.setKey(this.key, next, snapshot.resourceVersion);
        context.log.info({ diff, configMap: this.location, resourceVersion: written.resourceVersion, attempt }, 'updated the Corefile');
        await this.events.record(written.ref, 'Normal', 'CorefileUpdated', `hairpin-proxy updated the Corefile:\n${diff}`);
        return { action: 'updated', diff, attempts: attempt };
      } catch (error) {
        if (!(error instanceof KubeError && error.kind === 'Conflict')) throw error;
        context.log.info({ configMap: this.location, attempt }, 'the Corefile changed under us; re-reading');
      }
    }
    throw new KubeError('Conflict', `update ${this.location}`, 409, `still conflicting after ${MAX_ATTEMPTS} attempts`);
  }
}
