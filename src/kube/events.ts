import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import type { ObjectRef } from '../model/objects.js';

export type EventType = 'Normal' | 'Warning';

/** Records Kubernetes Events; a failure to record is logged, never fatal to a sync. */
export interface EventRecorder {
  record(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void>;
}

const REPEAT_WINDOW_MS = 10 * 60_000;

export class KubeEventRecorder implements EventRecorder {
  /** The same event for the same object is recorded once per window, not on every resync. */
  private readonly lastRecorded = new Map<string, number>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly log: Logger,
    private readonly component = 'hairpin-proxy',
    private readonly now: () => number = Date.now,
  ) {}

  async record(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void> {
    const identity = `${ref.namespace}/${ref.kind}/${ref.name}/${reason}/${message}`;
    const now = this.now();
    const last = this.lastRecorded.get(identity);
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) return;
    this.lastRecorded.set(identity, now);
    this.forgetOlderThan(now - REPEAT_WINDOW_MS);
    const time = new Date(now);
    try {
      await this.core.createNamespacedEvent({
        namespace: ref.namespace,
        body: {
          metadata: { name: `${ref.name}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, namespace: ref.namespace },
          involvedObject: {
            kind: ref.kind,
            apiVersion: ref.apiVersion,
            namespace: ref.namespace,
            name: ref.name,
            ...(ref.uid ? { uid: ref.uid } : {}),
            ...(ref.resourceVersion ? { resourceVersion: ref.resourceVersion } : {}),
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: this.component },
          reportingComponent: this.component,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      });
    } catch (error) {
      this.lastRecorded.delete(identity);
      this.log.warn({ err: error, reason, object: `${ref.kind}/${ref.namespace}/${ref.name}` }, 'could not record a Kubernetes Event');
    }
  }

  private forgetOlderThan(cutoff: number): void {
    for (const [identity, at] of this.lastRecorded) if (at < cutoff) this.lastRecorded.delete(identity);
  }
}
