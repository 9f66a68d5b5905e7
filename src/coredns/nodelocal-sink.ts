import type { CoreV1Api } from '@kubernetes/client-node';
import { KubeConfigMapStore, type ConfigMapStore } from '../kube/configmaps.js';
import { KubeError } from '../kube/errors.js';
import type { ObjectRef } from '../model/objects.js';
import { renderNodeLocalCorefile } from './nodelocal.js';
import { CorednsSink, type SinkContext, type SinkOutcome } from './sink.js';

/** The kubernetes/dns addon's name for it, in the namespace of CoreDNS's. */
export const NODE_LOCAL_DNS_CONFIGMAP = 'node-local-dns';

/** The addon manager puts a ConfigMap with this label back as it was: writing it would be a fight. */
export const ADDON_MANAGER_LABEL = 'addonmanager.kubernetes.io/mode';

export type NodeLocalOutcome =
  | (SinkOutcome & { readonly skipped: ReadonlyArray<{ readonly host: string; readonly reason: string }> })
  | { readonly action: 'absent' }
  | { readonly action: 'reconciled' };

/**
 * Owns our block in node-local-dns's Corefile, where the cluster runs node-local-dns: absent, it
 * does nothing; reconciled by the addon manager, it writes nothing and says so; otherwise the
 * same optimistic read-edit-write as the CoreDNS Corefile.
 */
export class NodeLocalDnsSink {
  readonly #sink: CorednsSink;

  constructor(
    private readonly store: ConfigMapStore,
    private readonly key: string,
    private readonly clusterDomain: string,
  ) {
    this.#sink = new CorednsSink(store, key);
  }

  static inCluster(core: CoreV1Api, namespace: string, clusterDomain: string): NodeLocalDnsSink {
    return new NodeLocalDnsSink(new KubeConfigMapStore(core, namespace, NODE_LOCAL_DNS_CONFIGMAP), 'Corefile', clusterDomain);
  }

  get object(): ObjectRef {
    return { kind: 'ConfigMap', apiVersion: 'v1', namespace: this.store.namespace, name: this.store.name };
  }

  get location(): string {
    return this.#sink.location;
  }

  /** Routes these hosts through the cluster DNS; none removes our block. */
  async apply(hosts: readonly string[], context: SinkContext): Promise<NodeLocalOutcome> {
    let skipped: ReadonlyArray<{ host: string; reason: string }> = [];
    try {
      const outcome = await this.#sink.apply((corefile, { labels }) => {
        if (labels[ADDON_MANAGER_LABEL] === 'Reconcile') throw new AddonManaged();
        const edit = renderNodeLocalCorefile(corefile, hosts, this.clusterDomain);
        skipped = edit.skipped;
        return edit.corefile;
      }, context);
      return { ...outcome, skipped };
    } catch (error) {
      if (error instanceof AddonManaged) return { action: 'reconciled' };
      if (error instanceof KubeError && error.kind === 'NotFound') return { action: 'absent' };
      throw error;
    }
  }
}

/** Thrown by the edit, before anything is written, for a ConfigMap the addon manager reconciles. */
class AddonManaged extends Error {}
