import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import type { ObjectRef } from '../model/objects.js';
import { kubeCall } from './request.js';

export interface ConfigMapSnapshot {
  readonly data: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly resourceVersion: string;
  readonly ref: ObjectRef;
}

/** The one ConfigMap the controller edits. A port, so the sink can be tested with a fake. */
export interface ConfigMapStore {
  readonly namespace: string;
  readonly name: string;
  /** Throws KubeError (NotFound when it does not exist); rejects with signal's reason when cancelled. */
  read(signal?: AbortSignal): Promise<ConfigMapSnapshot>;
  /** Sets one key, optimistically: throws KubeError kind Conflict when resourceVersion is stale. */
  setKey(key: string, value: string, resourceVersion: string, signal?: AbortSignal): Promise<ConfigMapSnapshot>;
}

export class KubeConfigMapStore implements ConfigMapStore {
  constructor(private readonly core: CoreV1Api, readonly namespace: string, readonly name: string) {}

  async read(signal?: AbortSignal): Promise<ConfigMapSnapshot> {
    const configMap = await kubeCall(`read ConfigMap ${this.namespace}/${this.name}`, signal, (options) =>
      this.core.readNamespacedConfigMap({ name: this.name, namespace: this.namespace }, options),
    );
    return snapshotOf(configMap);
  }

  async setKey(key: string, value: string, resourceVersion: string, signal?: AbortSignal): Promise<ConfigMapSnapshot> {
    // A merge patch that carries resourceVersion is as optimistic as a replace, and touches only
    // our key: other keys, labels and annotations stay exactly as their owners left them.
    const body = { metadata: { resourceVersion }, data: { [key]: value } };
    const updated = await kubeCall(
      `update ConfigMap ${this.namespace}/${this.name}`,
      signal,
      (options) => this.core.patchNamespacedConfigMap({ name: this.name, namespace: this.namespace, body, fieldManager: 'hairpin-proxy' }, options),
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return snapshotOf(updated);
  }
}

export function snapshotOf(configMap: V1ConfigMap): ConfigMapSnapshot {
  const meta = configMap.metadata ?? {};
  return {
    data: configMap.data ?? {},
    labels: meta.labels ?? {},
    resourceVersion: meta.resourceVersion ?? '',
    ref: {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      namespace: meta.namespace ?? '',
      name: meta.name ?? '',
      ...(meta.uid ? { uid: meta.uid } : {}),
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
    },
  };
}
