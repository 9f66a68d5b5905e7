import type { Replica } from './replicas.js';
import type { HaproxySink } from './sink.js';

/**
 * The current replicas and one sink (with its Data Plane API client) for each, kept across syncs
 * and dropped when its pod is gone.
 */
export class ReplicaPool {
  readonly #sinks = new Map<string, HaproxySink>();

  constructor(
    private readonly find: () => readonly Replica[],
    private readonly connect: (replica: Replica) => HaproxySink,
  ) {}

  replicas(): readonly Replica[] {
    const replicas = this.find();
    for (const url of this.#sinks.keys()) if (!replicas.some((r) => r.url === url)) this.#sinks.delete(url);
    return replicas;
  }

  /** Resolves once every replica's file holds what was set at runtime (see HaproxySink.flush). */
  async flush(): Promise<void> {
    await Promise.all([...this.#sinks.values()].map((sink) => sink.flush()));
  }

  sinkFor(replica: Replica): HaproxySink {
    let sink = this.#sinks.get(replica.url);
    if (!sink) {
      sink = this.connect(replica);
      this.#sinks.set(replica.url, sink);
    }
    return sink;
  }
}
