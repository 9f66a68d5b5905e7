import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { toKubeError } from './errors.js';

/**
 * Removal that leaves DNS clean, without a hook: `kubectl delete -f deploy.yml` (or `helm
 * uninstall`) deletes the controller together with the ServiceAccount and RBAC its cleanup needs.
 *
 * - The controller's Deployment carries REMOVAL_FINALIZER: deleting it leaves it (and so its pods,
 *   which the garbage collector deletes only after their owner is gone) running. The controller
 *   sees the deletion, removes everything it wrote, then removes the finalizer.
 * - What the cleanup needs (the ServiceAccount, whose token it runs on, and the RBAC objects that
 *   grant it) carry `foregroundDeletion` and are owners of that Deployment (or, across the
 *   namespace, of a lock ConfigMap that carries REMOVAL_FINALIZER). Deleting them therefore waits,
 *   with their grants still in force, until their dependents are gone, i.e. until the cleanup is
 *   done; then the garbage collector finishes their deletion. Nothing is left behind, and no
 *   object waits on a permission that is already gone.
 * - A rollout or a crash never removes anything: only a Deployment being deleted does.
 */
export const REMOVAL_FINALIZER = 'hairpin-proxy.io/remove-dns';
const FOREGROUND = 'foregroundDeletion';

/** The objects of one install (deploy/base, the Helm chart), all named after `name`. */
export interface InstallNames {
  readonly name: string;
  readonly namespace: string;
  readonly corednsNamespace: string;
}

type Ref = { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly namespace?: string };

export const removalObjects = (names: InstallNames) => {
  const rbac = 'rbac.authorization.k8s.io/v1';
  const inNamespace = (kind: string, apiVersion: string, name = names.name): Ref => ({ apiVersion, kind, name, namespace: names.namespace });
  /** The CoreDNS grants: one Role per DNS mode, each optional (deploy/components drop some). */
  const inCoredns = (kind: string, suffix: string): Ref => ({ apiVersion: rbac, kind, name: `${names.name}-${suffix}`, namespace: names.corednsNamespace });
  return {
    deployment: inNamespace('Deployment', 'apps/v1'),
    /** Owners of the Deployment: same namespace, or cluster-scoped. */
    deploymentOwners: [
      inNamespace('ServiceAccount', 'v1'),
      inNamespace('Role', rbac),
      inNamespace('RoleBinding', rbac),
      { apiVersion: rbac, kind: 'ClusterRole', name: names.name },
      { apiVersion: rbac, kind: 'ClusterRoleBinding', name: names.name },
    ] satisfies Ref[],
    /** The grants for the CoreDNS ConfigMaps live in their namespace: a lock there holds them. */
    lock: { apiVersion: 'v1', kind: 'ConfigMap', name: `${names.name}-removal`, namespace: names.corednsNamespace } satisfies Ref,
    lockOwners: ['coredns', 'coredns-custom', 'node-local-dns'].flatMap((suffix) => [inCoredns('Role', suffix), inCoredns('RoleBinding', suffix)]) satisfies Ref[],
  };
};

export class RemovalGuard {
  readonly #objects: ReturnType<typeof removalObjects>;
  readonly #api: KubernetesObjectApi;

  constructor(
    kubeConfig: KubeConfig,
    names: InstallNames,
    private readonly log: Logger,
  ) {
    this.#objects = removalObjects(names);
    this.#api = KubernetesObjectApi.makeApiClient(kubeConfig);
  }

  /**
   * Puts the finalizers and owner references in place. False where the controller does not run
   * from such an install (no Deployment of that name: a local run, a test): nothing to guard.
   */
  async arm(): Promise<boolean> {
    const { deployment, deploymentOwners, lock, lockOwners } = this.#objects;
    const live = await this.#read(deployment);
    if (!live) {
      this.log.info({ deployment: describe(deployment) }, 'no such Deployment: removal cleanup is off (the controller does not run from deploy/ or the chart)');
      return false;
    }
    if (live.metadata?.deletionTimestamp) return true;
    const owners = await this.#holdAll(deploymentOwners);
    await this.#addFinalizer(deployment, owners);
    const lockOwnerRefs = await this.#holdAll(lockOwners);
    if (lockOwnerRefs.length > 0) await this.#ensureLock(lock, lockOwnerRefs);
    this.log.info({ deployment: describe(deployment), held: [...deploymentOwners, ...lockOwners].map(describe) }, 'removal cleanup armed');
    return true;
  }

  /** Whether this install is being removed with its cleanup still owed: its Deployment is deleting and still held. */
  async removing(): Promise<boolean> {
    const live = await this.#read(this.#objects.deployment);
    return Boolean(live?.metadata?.deletionTimestamp && live.metadata.finalizers?.includes(REMOVAL_FINALIZER));
  }

  /** After the cleanup: lets the lock and the Deployment go, and with them everything they hold. */
  async release(): Promise<void> {
    const { deployment, lock } = this.#objects;
    await this.#removeFinalizer(lock);
    await this.#delete(lock);
    await this.#removeFinalizer(deployment);
    this.log.info({ deployment: describe(deployment) }, 'removal cleanup done: finalizers released');
  }

  /** Adds foregroundDeletion to each owner that exists; returns owner references to them. */
  async #holdAll(refs: readonly Ref[]): Promise<OwnerReference[]> {
    const owners: OwnerReference[] = [];
    for (const ref of refs) {
      const live = await this.#read(ref);
      // Not every install has every grant (a narrower DNS mode drops some): nothing to hold then.
      if (!live?.metadata?.uid) continue;
      if (!live.metadata.finalizers?.includes(FOREGROUND)) await this.#patchFinalizers(ref, live, [...(live.metadata.finalizers ?? []), FOREGROUND]);
      owners.push({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: live.metadata.uid, blockOwnerDeletion: true });
    }
    return owners;
  }

  async #addFinalizer(ref: Ref, owners: readonly OwnerReference[]): Promise<void> {
    const live = await this.#read(ref);
    if (!live) return;
    const kept = (live.metadata?.ownerReferences ?? []).filter((o) => !owners.some((owner) => owner.uid === o.uid));
    const finalizers = live.metadata?.finalizers ?? [];
    await this.#call(`patch ${describe(ref)}`, () =>
      this.#api.patch(
        {
          ...header(ref),
          metadata: {
            ...header(ref).metadata,
            resourceVersion: live.metadata?.resourceVersion ?? '',
            finalizers: finalizers.includes(REMOVAL_FINALIZER) ? finalizers : [...finalizers, REMOVAL_FINALIZER],
            ownerReferences: [...kept, ...owners],
          },
        },
        undefined,
        undefined,
        'hairpin-proxy',
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
  }

  async #ensureLock(lock: Ref, owners: readonly OwnerReference[]): Promise<void> {
    const body = {
      ...header(lock),
      metadata: {
        ...header(lock).metadata,
        labels: { 'app.kubernetes.io/part-of': 'hairpin-proxy', 'app.kubernetes.io/managed-by': 'hairpin-proxy' },
        annotations: { 'hairpin-proxy.io/about': 'holds the CoreDNS grants of hairpin-proxy until its removal has cleaned the Corefile; the controller deletes it' },
        finalizers: [REMOVAL_FINALIZER],
        ownerReferences: [...owners],
      },
    };
    const live = await this.#read(lock);
    if (!live) {
      await this.#call(`create ${describe(lock)}`, () => this.#api.create(body, undefined, undefined, 'hairpin-proxy'));
      return;
    }
    await this.#call(`patch ${describe(lock)}`, () =>
      this.#api.patch({ ...body, metadata: { ...body.metadata, resourceVersion: live.metadata?.resourceVersion ?? '' } }, undefined, undefined, 'hairpin-proxy', undefined, PatchStrategy.MergePatch),
    );
  }

  async #removeFinalizer(ref: Ref): Promise<void> {
    const live = await this.#read(ref);
    const finalizers = live?.metadata?.finalizers ?? [];
    if (!live || !finalizers.includes(REMOVAL_FINALIZER)) return;
    await this.#patchFinalizers(ref, live, finalizers.filter((f) => f !== REMOVAL_FINALIZER));
  }

  /** A merge patch carrying resourceVersion: a concurrent change makes it a Conflict, not a lost update. */
  async #patchFinalizers(ref: Ref, live: KubernetesObject, finalizers: readonly string[]): Promise<void> {
    await this.#call(`patch ${describe(ref)}`, () =>
      this.#api.patch(
        { ...header(ref), metadata: { ...header(ref).metadata, resourceVersion: live.metadata?.resourceVersion ?? '', finalizers: [...finalizers] } },
        undefined,
        undefined,
        'hairpin-proxy',
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
  }

  async #delete(ref: Ref): Promise<void> {
    try {
      await this.#call(`delete ${describe(ref)}`, () => this.#api.delete(header(ref)));
    } catch (error) {
      if ((error as { kind?: string }).kind !== 'NotFound') throw error;
    }
  }

  async #read(ref: Ref): Promise<KubernetesObject | undefined> {
    try {
      return await this.#call(`read ${describe(ref)}`, () => this.#api.read(header(ref)));
    } catch (error) {
      if ((error as { kind?: string }).kind === 'NotFound') return undefined;
      throw error;
    }
  }

  async #call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toKubeError(operation, error);
    }
  }
}

interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  blockOwnerDeletion: boolean;
}

function header(ref: Ref): KubernetesObject & { metadata: { name: string; namespace?: string } } {
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
}

function describe(ref: Ref): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}
