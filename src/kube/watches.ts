import type { KubeConfig, KubernetesObject, V1ConfigMap, V1EndpointSlice, V1Ingress, V1IngressClass, V1Service } from '@kubernetes/client-node';
import type { IngressTarget, Snapshot } from '../model/objects.js';
import type { KubeApis } from './client.js';
import { ResilientInformer, type InformerOptions } from './informer.js';

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

export interface WatchTargets {
  readonly coredns: NamespacedName;
  /** Present when the controller configures the hairpin HAProxy. */
  readonly haproxy?: {
    readonly ingressController: NamespacedName;
    /** The hairpin HAProxy Service, whose pods are the Data Plane API replicas. */
    readonly hairpinService: NamespacedName;
  };
}

/** What changed, so that only the keys depending on it are queued. */
export type ChangeScope = 'coredns' | 'haproxy';

export interface WatchOptions extends Omit<InformerOptions, 'onChange'> {
  readonly onChange: (scope: ChangeScope) => void;
}

export interface ClusterWatches {
  readonly all: ReadonlyArray<ResilientInformer<KubernetesObject>>;
  readonly snapshot: () => Snapshot;
  /** The ingress controller's Service and EndpointSlices (empty when HAProxy is not managed). */
  readonly ingressTarget: () => IngressTarget;
  readonly hairpinSlices: () => readonly V1EndpointSlice[];
}

/**
 * What the controller watches. The CoreDNS ConfigMap is watched so that a user's edit (or a
 * broken Corefile being fixed) triggers a sync at once instead of at the next resync. Every
 * namespaced watch is narrowed by a selector to the one object (or one Service's slices) it
 * needs, which keeps caches small and lets RBAC grant exactly that.
 */
export function watchCluster(kubeConfig: KubeConfig, apis: KubeApis, targets: WatchTargets, options: WatchOptions): ClusterWatches {
  const forScope = (scope: ChangeScope): InformerOptions => ({ ...options, onChange: () => options.onChange(scope) });
  const dns = forScope('coredns');
  const ingresses = new ResilientInformer<V1Ingress>(
    kubeConfig,
    { name: 'ingresses', path: '/apis/networking.k8s.io/v1/ingresses', list: () => apis.networking.listIngressForAllNamespaces() },
    dns,
  );
  const ingressClasses = new ResilientInformer<V1IngressClass>(
    kubeConfig,
    { name: 'ingressclasses', path: '/apis/networking.k8s.io/v1/ingressclasses', list: () => apis.networking.listIngressClass() },
    dns,
  );
  const corednsSelector = byName(targets.coredns);
  const corednsConfigMap = new ResilientInformer<V1ConfigMap>(
    kubeConfig,
    {
      name: 'coredns-configmap',
      path: `/api/v1/namespaces/${targets.coredns.namespace}/configmaps`,
      list: () => apis.core.listNamespacedConfigMap({ namespace: targets.coredns.namespace, fieldSelector: corednsSelector }),
      fieldSelector: corednsSelector,
    },
    dns,
  );
  const dnsInformers = [ingresses, ingressClasses, corednsConfigMap] as ReadonlyArray<ResilientInformer<KubernetesObject>>;
  const snapshot = () => ({ ingresses: ingresses.list(), ingressClasses: ingressClasses.list() });
  if (!targets.haproxy) {
    return { all: dnsInformers, snapshot, ingressTarget: () => ({ service: undefined, slices: [] }), hairpinSlices: () => [] };
  }

  const proxy = forScope('haproxy');
  const { ingressController, hairpinService } = targets.haproxy;
  const serviceSelector = byName(ingressController);
  const ingressService = new ResilientInformer<V1Service>(
    kubeConfig,
    {
      name: 'ingress-controller-service',
      path: `/api/v1/namespaces/${ingressController.namespace}/services`,
      list: () => apis.core.listNamespacedService({ namespace: ingressController.namespace, fieldSelector: serviceSelector }),
      fieldSelector: serviceSelector,
    },
    proxy,
  );
  const ingressSlices = slicesOf(kubeConfig, apis, ingressController, 'ingress-controller-endpointslices', proxy);
  const hairpinSlices = slicesOf(kubeConfig, apis, hairpinService, 'hairpin-endpointslices', proxy);
  return {
    all: [...dnsInformers, ingressService, ingressSlices, hairpinSlices] as ReadonlyArray<ResilientInformer<KubernetesObject>>,
    snapshot,
    ingressTarget: () => ({ service: ingressService.list()[0], slices: ingressSlices.list() }),
    hairpinSlices: () => hairpinSlices.list(),
  };
}

function byName({ name }: NamespacedName): string {
  return `metadata.name=${name}`;
}

/** The EndpointSlices of one Service, by the label the EndpointSlice controller sets. */
function slicesOf(kubeConfig: KubeConfig, apis: KubeApis, service: NamespacedName, name: string, options: InformerOptions): ResilientInformer<V1EndpointSlice> {
  const labelSelector = `kubernetes.io/service-name=${service.name}`;
  return new ResilientInformer<V1EndpointSlice>(
    kubeConfig,
    {
      name,
      path: `/apis/discovery.k8s.io/v1/namespaces/${service.namespace}/endpointslices`,
      list: () => apis.discovery.listNamespacedEndpointSlice({ namespace: service.namespace, labelSelector }),
      labelSelector,
    },
    options,
  );
}
