import { Discovery } from './discovery.js';
import { PooledKubeConfig } from './pooled-kubeconfig.js';
import { AppsV1Api, AuthorizationV1Api, RbacAuthorizationV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';

/** An explicit kubeconfig file, else in-cluster credentials, else ~/.kube/config and $KUBECONFIG. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kubeConfig = new PooledKubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

export interface KubeApis {
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly coordination: CoordinationV1Api;
  /** Gateway API objects, which have no typed client. */
  readonly custom: CustomObjectsApi;
  /** Deployments (doctor looks for the original Ruby hairpin-proxy). */
  readonly apps: AppsV1Api;
  /** SubjectAccessReviews (doctor asks what the controller's ServiceAccount may do). */
  readonly authorization: AuthorizationV1Api;
  /** Which kinds are served, without a list the identity may not be granted. */
  readonly kinds: Discovery;
  /** The removal cleanup's own Role and RoleBinding (kube/removal.ts). */
  readonly rbac: RbacAuthorizationV1Api;
}

export function makeApis(kubeConfig: KubeConfig): KubeApis {
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    networking: kubeConfig.makeApiClient(NetworkingV1Api),
    discovery: kubeConfig.makeApiClient(DiscoveryV1Api),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    authorization: kubeConfig.makeApiClient(AuthorizationV1Api),
    kinds: kubeConfig.makeApiClient(Discovery),
    rbac: kubeConfig.makeApiClient(RbacAuthorizationV1Api),
  };
}

/** The apiserver's URL, for messages that must say which apiserver could not be reached. */
export function apiserverOf(kubeConfig: KubeConfig): string {
  return kubeConfig.getCurrentCluster()?.server ?? '(the kubeconfig names no cluster)';
}
