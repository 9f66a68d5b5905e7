import { KubeConfig, RbacAuthorizationV1Api, type AppsV1Api, type ConfigurationOptions, type CoreV1Api, type V1OwnerReference, type V1PolicyRule } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { KubeError } from './errors.js';
import { kubeCall } from './request.js';

/**
 * Removal that leaves DNS clean, without a hook. `kubectl delete -f deploy.yml` (or `helm
 * uninstall`) deletes the controller's ServiceAccount and RBAC in the same breath as its
 * Deployment, and the namespace with them: by the time its pods get SIGTERM, their own token and
 * grants may be gone. So, while it runs, the controller keeps a second identity that no install
 * manifest names and no namespace deletion reaches, for exactly the cleanup:
 *
 * - in the CoreDNS namespace, the ServiceAccount, Role and RoleBinding `<install>-cleanup`; the Role
 *   may patch the DNS ConfigMaps this install writes, by name, and delete that RoleBinding (and,
 *   where the mode keeps DNSEndpoints or hairpin Services, a Role and RoleBinding of that name in
 *   the controller's namespace, for those);
 * - a token of that ServiceAccount, requested at start and renewed while the controller runs.
 *
 * On SIGTERM the controller asks whether its install is being removed: its Deployment deleted or
 * deleting, or its own identity already gone. A rollout, a drain or a crash is none of these. If it
 * is, it removes what it wrote (with the cleanup token) and deletes the RoleBinding; the Role and
 * the ServiceAccount are owned by it, so the garbage collector deletes them too. No finalizer is
 * involved, so nothing can be left waiting on a controller that is gone. Each replica does this
 * after its own last write, so the last one to stop leaves DNS clean.
 */
export interface InstallNames {
  /** --install-name: the Deployment (in `namespace`), ServiceAccount and RBAC of the install. */
  readonly name: string;
  readonly namespace: string;
  readonly corednsNamespace: string;
}

/**
 * What the cleanup may do: patch the DNS ConfigMaps this install writes, and, in the controller's
 * own namespace, remove what this mode keeps there (DNSEndpoints, hairpin Services; a `helm
 * uninstall` leaves that namespace, so nothing else would). Each place also lets it delete its
 * own RoleBinding there.
 */
export interface CleanupGrants {
  readonly configMaps: ReadonlyArray<{ readonly name: string; readonly verbs: readonly string[] }>;
  readonly ownNamespace: readonly V1PolicyRule[];
}

/** A token lives this long; the controller renews it at a fraction of that. */
const TOKEN_SECONDS = 24 * 3600;
const RENEW_MS = 3600_000;

export const cleanupName = (names: InstallNames) => `${names.name}-cleanup`;

/** Pure: the cleanup Roles, by namespace (the controller's own only where its mode keeps something there). */
export function cleanupRoles(names: InstallNames, grants: CleanupGrants): Array<{ namespace: string; rules: V1PolicyRule[] }> {
  const deleteOwnBinding: V1PolicyRule = { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], resourceNames: [cleanupName(names)], verbs: ['delete'] };
  const dns = { namespace: names.corednsNamespace, rules: [...grants.configMaps.map((c) => ({ apiGroups: [''], resources: ['configmaps'], resourceNames: [c.name], verbs: [...c.verbs] })), deleteOwnBinding] };
  return grants.ownNamespace.length === 0 || names.namespace === names.corednsNamespace ? [dns] : [dns, { namespace: names.namespace, rules: [...grants.ownNamespace, deleteOwnBinding] }];
}

export class RemovalGuard {
  #token: string | undefined;
  #renewal: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly apis: { readonly core: CoreV1Api; readonly rbac: RbacAuthorizationV1Api; readonly apps: AppsV1Api },
    private readonly kubeConfig: KubeConfig,
    private readonly names: InstallNames,
    private readonly grants: CleanupGrants,
    private readonly log: Logger,
  ) {}

  /**
   * Creates (or updates) the cleanup identity and takes its token. False where the controller does
   * not run from such an install (no Deployment of that name: a local run, a test): nothing to do.
   */
  async arm(): Promise<boolean> {
    const { namespace, name } = this.names;
    try {
      await kubeCall(`read Deployment ${namespace}/${name}`, undefined, (o) => this.apis.apps.readNamespacedDeployment({ namespace, name }, o));
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'NotFound') {
        this.log.info({ deployment: `${namespace}/${name}` }, 'no such Deployment: removal cleanup is off (the controller does not run from deploy/ or the chart)');
        return false;
      }
      throw error;
    }
    // In each place, the Role before its binding (a binding to a Role that does not exist yet is
    // refused as an escalation), then owned by the binding. The ServiceAccount belongs to the
    // CoreDNS namespace's binding, the first place.
    let serviceAccountOwner: V1OwnerReference[] = [];
    for (const { namespace: where, rules } of cleanupRoles(this.names, this.grants)) {
      await this.#ensureRole(where, rules, []);
      const binding = await this.#ensureBinding(where);
      const owner = [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', name: binding.name, uid: binding.uid, blockOwnerDeletion: false }];
      await this.#ensureRole(where, rules, owner);
      if (serviceAccountOwner.length === 0) serviceAccountOwner = owner;
    }
    await this.#ensureServiceAccount(serviceAccountOwner);
    await this.#renewToken();
    this.#renewal = setInterval(() => void this.#renewToken().catch((error: unknown) => this.log.warn({ err: error }, 'cannot renew the cleanup token')), RENEW_MS);
    this.#renewal.unref();
    this.log.info({ identity: `${this.names.corednsNamespace}/${cleanupName(this.names)}` }, 'removal cleanup armed');
    return true;
  }

  disarm(): void {
    clearInterval(this.#renewal);
  }

  /**
   * Asked once the run loop has stopped: whether this install is being removed. Its Deployment is
   * gone or deleting, or its own token or grants are refused (only a removal takes those away).
   */
  async removing(): Promise<boolean> {
    const { namespace, name } = this.names;
    try {
      const deployment = await kubeCall(`read Deployment ${namespace}/${name}`, undefined, (o) => this.apis.apps.readNamespacedDeployment({ namespace, name }, o));
      return Boolean(deployment.metadata?.deletionTimestamp);
    } catch (error) {
      if (error instanceof KubeError && ['NotFound', 'Unauthorized', 'Forbidden'].includes(error.kind)) return true;
      throw error;
    }
  }

  /** A kubeconfig for the same apiserver, as the cleanup identity. */
  cleanupKubeConfig(): KubeConfig {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster || !this.#token) throw new KubeError('Unauthorized', 'removal cleanup', undefined, 'the cleanup identity was never armed');
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'hairpin-proxy-cleanup', token: this.#token }],
      contexts: [{ name: 'cleanup', cluster: cluster.name, user: 'hairpin-proxy-cleanup' }],
      currentContext: 'cleanup',
    });
    return config;
  }

  /**
   * After the cleanup: deletes the RoleBindings, the CoreDNS namespace's last (its Roles and the
   * ServiceAccount follow by garbage collection). One already gone (with its namespace) is fine.
   */
  async release(): Promise<void> {
    const nameOf = cleanupName(this.names);
    const cleanupRbac = this.cleanupKubeConfig().makeApiClient(RbacAuthorizationV1Api);
    this.disarm();
    for (const { namespace } of cleanupRoles(this.names, this.grants).reverse()) {
      try {
        await kubeCall(`delete RoleBinding ${namespace}/${nameOf}`, undefined, (o) => cleanupRbac.deleteNamespacedRoleBinding({ namespace, name: nameOf }, o));
      } catch (error) {
        if (!(error instanceof KubeError && (error.kind === 'NotFound' || error.kind === 'Forbidden'))) throw error;
      }
    }
    this.log.info({ identity: `${this.names.corednsNamespace}/${nameOf}` }, 'removal cleanup done: the cleanup identity goes too');
  }

  async #ensureBinding(namespace: string): Promise<{ name: string; uid: string }> {
    const name = cleanupName(this.names);
    const body = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: this.names.corednsNamespace }],
    };
    const live = await this.#createOrRead(
      `RoleBinding ${namespace}/${name}`,
      (o) => this.apis.rbac.createNamespacedRoleBinding({ namespace, body }, o),
      (o) => this.apis.rbac.readNamespacedRoleBinding({ namespace, name }, o),
    );
    return { name, uid: live.metadata?.uid ?? '' };
  }

  async #ensureRole(namespace: string, rules: V1PolicyRule[], ownerReferences: V1OwnerReference[]): Promise<void> {
    const name = cleanupName(this.names);
    const body = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace, labels: LABELS, ownerReferences }, rules };
    const created = await this.#createOrRead(
      `Role ${namespace}/${name}`,
      (o) => this.apis.rbac.createNamespacedRole({ namespace, body }, o),
      (o) => this.apis.rbac.readNamespacedRole({ namespace, name }, o),
    );
    // The rules follow the configuration (a changed DNS mode), and the owner comes after the binding: a replace.
    const replacement = { ...body, metadata: { ...body.metadata, resourceVersion: created.metadata?.resourceVersion ?? '' } };
    await kubeCall(`replace Role ${namespace}/${name}`, undefined, (o) => this.apis.rbac.replaceNamespacedRole({ namespace, name, body: replacement }, o));
  }

  async #ensureServiceAccount(ownerReferences: V1OwnerReference[]): Promise<void> {
    const namespace = this.names.corednsNamespace;
    const name = cleanupName(this.names);
    const body = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels: LABELS, ownerReferences }, automountServiceAccountToken: false };
    await this.#createOrRead(
      `ServiceAccount ${namespace}/${name}`,
      (o) => this.apis.core.createNamespacedServiceAccount({ namespace, body }, o),
      (o) => this.apis.core.readNamespacedServiceAccount({ namespace, name }, o),
    );
  }

  async #renewToken(): Promise<void> {
    const namespace = this.names.corednsNamespace;
    const name = cleanupName(this.names);
    const request = await kubeCall(`create token for ServiceAccount ${namespace}/${name}`, undefined, (o) =>
      this.apis.core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: TOKEN_SECONDS } } }, o),
    );
    this.#token = request.status?.token;
  }

  async #createOrRead<T>(what: string, create: (o: ConfigurationOptions) => Promise<T>, read: (o: ConfigurationOptions) => Promise<T>): Promise<T> {
    try {
      return await kubeCall(`create ${what}`, undefined, create);
    } catch (error) {
      if (!(error instanceof KubeError && error.kind === 'Conflict')) throw error;
      return kubeCall(`read ${what}`, undefined, read);
    }
  }
}

const LABELS = { 'app.kubernetes.io/part-of': 'hairpin-proxy', 'app.kubernetes.io/managed-by': 'hairpin-proxy', 'hairpin-proxy.io/role': 'removal-cleanup' };
