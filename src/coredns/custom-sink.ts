import { PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import { KubeError } from '../kube/errors.js';
import { kubeCall } from '../kube/request.js';
import type { ObjectRef } from '../model/objects.js';
import { OVERRIDE_KEY } from './custom.js';
import { CONFIGMAP_MAX_BYTES, roomFor } from './fit.js';
import { lineDiff } from './diff.js';
import type { SinkContext, SinkOutcome } from './sink.js';

/** Set on a coredns-custom ConfigMap that hairpin-proxy created: uninstall deletes it when it is empty again. */
export const CREATED_ANNOTATION = 'hairpin-proxy.io/created';

/**
 * Owns one key, `hairpin-proxy.override`, of the coredns-custom ConfigMap, and nothing else in it:
 * writes it with a merge patch carrying resourceVersion (a 409 is re-read and re-applied), removes
 * it with a null, and creates the ConfigMap where the Corefile imports it but it does not exist
 * yet (k3s ships the import without the ConfigMap).
 */
export class CorednsCustomSink {
  readonly object: ObjectRef;

  constructor(
    private readonly core: CoreV1Api,
    readonly namespace: string,
    readonly name: string,
  ) {
    this.object = { kind: 'ConfigMap', apiVersion: 'v1', namespace, name };
  }

  get location(): string {
    return `ConfigMap ${this.namespace}/${this.name} key ${OVERRIDE_KEY}`;
  }

  /**
   * Writes the override, or removes it (undefined). Reading is forbidden or absent: nothing of ours
   * there to remove. A function is given the bytes the ConfigMap's other keys leave for ours.
   */
  async write(override: string | undefined | ((room: number) => string | undefined), context: SinkContext): Promise<SinkOutcome> {
    const { namespace, name } = this;
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const current = await this.#read(context.signal, override === undefined);
      const content = typeof override === 'function' ? override(current === 'absent' ? CONFIGMAP_MAX_BYTES : roomFor(current.data, OVERRIDE_KEY)) : override;
      if (current === 'absent') {
        if (content === undefined) return { action: 'unchanged', diff: '', attempts: attempt };
        const diff = lineDiff('', content);
        if (context.dryRun) return this.#dryRun(diff, attempt, context);
        const body = { metadata: { name, namespace, annotations: { [CREATED_ANNOTATION]: 'true' } }, data: { [OVERRIDE_KEY]: content } };
        await kubeCall(`create ${this.location}`, context.signal, (o) => this.core.createNamespacedConfigMap({ namespace, body, fieldManager: 'hairpin-proxy' }, o));
        context.log.info({ diff, configMap: this.location }, 'created the coredns-custom ConfigMap with the override');
        return { action: 'updated', diff, attempts: attempt };
      }
      const before = current.data[OVERRIDE_KEY];
      if (before === content) return { action: 'unchanged', diff: '', attempts: attempt };
      const diff = lineDiff(before ?? '', content ?? '');
      if (context.dryRun) return this.#dryRun(diff, attempt, context);
      try {
        const body = { metadata: { resourceVersion: current.resourceVersion }, data: { [OVERRIDE_KEY]: content ?? null } };
        await kubeCall(
          `update ${this.location}`,
          context.signal,
          (o) => this.core.patchNamespacedConfigMap({ namespace, name, body, fieldManager: 'hairpin-proxy' }, o),
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        context.log.info({ diff, configMap: this.location }, content === undefined ? 'removed the override' : 'updated the override');
        return { action: 'updated', diff, attempts: attempt };
      } catch (error) {
        if (!(error instanceof KubeError && error.kind === 'Conflict')) throw error;
      }
    }
    throw new KubeError('Conflict', `update ${this.location}`, 409, 'still conflicting after 5 attempts');
  }

  /** Uninstall's last step: the ConfigMap goes only if hairpin-proxy created it and nothing else is in it. */
  async deleteIfOursAndEmpty(context: SinkContext): Promise<boolean> {
    const current = await this.#read(context.signal, true);
    if (current === 'absent' || current.annotations[CREATED_ANNOTATION] !== 'true' || Object.keys(current.data).length > 0) return false;
    if (context.dryRun) return false;
    const { namespace, name } = this;
    await kubeCall(`delete ConfigMap ${namespace}/${name}`, context.signal, (o) =>
      this.core.deleteNamespacedConfigMap({ namespace, name, body: { preconditions: { resourceVersion: current.resourceVersion } } }, o),
    );
    return true;
  }

  async #read(signal: AbortSignal | undefined, forbiddenIsAbsent: boolean) {
    const { namespace, name } = this;
    try {
      const configMap = await kubeCall(`read ConfigMap ${namespace}/${name}`, signal, (o) => this.core.readNamespacedConfigMap({ namespace, name }, o));
      return { data: configMap.data ?? {}, annotations: configMap.metadata?.annotations ?? {}, resourceVersion: configMap.metadata?.resourceVersion ?? '' };
    } catch (error) {
      // Without the RBAC for coredns-custom (corefile mode never needs it) there is nothing of ours to clean.
      if (error instanceof KubeError && (error.kind === 'NotFound' || (forbiddenIsAbsent && error.kind === 'Forbidden'))) return 'absent' as const;
      throw error;
    }
  }

  #dryRun(diff: string, attempts: number, context: SinkContext): SinkOutcome {
    context.log.info({ diff, configMap: this.location }, 'dry run: would update the override');
    return { action: 'dry-run', diff, attempts };
  }
}
