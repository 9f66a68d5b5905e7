import type { KubeConfig, KubernetesObject, V1ConfigMap, V1Ingress, V1IngressClass } from '@kubernetes/client-node';
import type { Snapshot } from '../plan/routes.js';
import type { KubeApis } from './client.js';
import { ResilientInformer, type InformerOptions } from './informer.js';

export interface ClusterWatches {
  readonly ingresses: ResilientInformer<V1Ingress>;
  readonly ingressClasses: ResilientInformer<V1IngressClass>;
  readonly corednsConfigMap: ResilientInformer<V1ConfigMap>;
  readonly all: ReadonlyArray<ResilientInformer<KubernetesObject>>;
  readonly snapshot: () => Snapshot;
}

export interface CorednsLocation {
  readonly namespace: string;
  readonly name: string;
}

/**
 * What the controller watches. The CoreDNS ConfigMap is watched so that a user's edit (or a
 * broken Corefile being fixed) triggers a sync at once instead of at the next resync.
 */
export function watchCluster(kubeConfig: KubeConfig, apis: KubeApis, coredns: CorednsLocation, options: InformerOptions): ClusterWatches {
  const ingresses = new ResilientInformer<V1Ingress>(
    kubeConfig,
    { name: 'ingresses', path: '/apis/networking.k8s.io/v1/ingresses', list: () => apis.networking.listIngressForAllNamespaces() },
    options,
  );
  const ingressClasses = new ResilientInformer<V1IngressClass>(
    kubeConfig,
    { name: 'ingressclasses', path: '/apis/networking.k8s.io/v1/ingressclasses', list: () => apis.networking.listIngressClass() },
    options,
  );
  // A field selector on the name lets RBAC grant list/watch by resourceNames: nothing else is readable.
  const fieldSelector = `metadata.name=${coredns.name}`;
  const corednsConfigMap = new ResilientInformer<V1ConfigMap>(
    kubeConfig,
    {
      name: 'coredns-configmap',
      path: `/api/v1/namespaces/${coredns.namespace}/configmaps`,
      list: () => apis.core.listNamespacedConfigMap({ namespace: coredns.namespace, fieldSelector }),
      fieldSelector,
    },
    options,
  );
  return {
    ingresses,
    ingressClasses,
    corednsConfigMap,
    all: [ingresses, ingressClasses, corednsConfigMap] as ReadonlyArray<ResilientInformer<KubernetesObject>>,
    snapshot: () => ({ ingresses: ingresses.list(), ingressClasses: ingressClasses.list() }),
  };
}
