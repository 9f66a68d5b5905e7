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

export interface ClusterWatches {
  readonly all: ReadonlyArray<ResilientInformer<KubernetesObject>>;
  /** Calls listener with the scope of every change any informer sees. */
  readonly onChange: (listener: (scope: ChangeScope) => void) => void;
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
export function watchCluster(kubeConfig: KubeConfig, apis: KubeApis, targets: WatchTargets, options: InformerOptions): ClusterWatches {
  const ingresses = new ResilientInformer<V1Ingress>(
    kubeConfig,
    { name: 'ingresses', path: '/apis/networking.k8s.io/v1/ingresses', list: (request) => apis.networking.listIngressForAllNamespaces({}, request) },
    options,
  );
  const ingressClasses = new ResilientInformer<V1IngressClass>(
    kubeConfig,
    { name: 'ingressclasses', path: '/apis/networking.k8s.io/v1/ingressclasses', list: (request) => apis.networking.listIngressClass({}, request) },
    options,
  );
  const corednsSelector = byName(targets.coredns);
  const corednsConfigMap = new ResilientInformer<V1ConfigMap>(
    kubeConfig,
    {
      name: 'coredns-configmap',
      path: `/api/v1/namespaces/${targets.coredns.namespace}/configmaps`,
      list: (request) => apis.core.listNamespacedConfigMap({ namespace: targets.coredns.namespace, fieldSelector: corednsSelector }, request),
      fieldSelector: corednsSelector,
    },
    options,
  );
  const dnsInformers = [ingresses, ingressClasses, corednsConfigMap] as ReadonlyArray<ResilientInformer<KubernetesObject>>;
  const snapshot = () => ({ ingresses: ingresses.list(), ingressClasses: ingressClasses.list() });
  if (!targets.haproxy) {
    return {
      all: dnsInformers,
      onChange: subscribe({ coredns: dnsInformers }),
      snapshot,
      ingressTarget: () => ({ service: undefined, slices: [] }),
      hairpinSlices: () => [],
    };
  }

  const { ingressController, hairpinService } = targets.haproxy;
  const serviceSelector = byName(ingressController);
  const ingressService = new ResilientInformer<V1Service>(
    kubeConfig,
    {
      name: 'ingress-controller-service',
      path: `/api/v1/namespaces/${ingressController.namespace}/services`,
      list: (request) => apis.core.listNamespacedService({ namespace: ingressController.namespace, fieldSelector: serviceSelector }, request),
      fieldSelector: serviceSelector,
    },
    options,
  );
  const ingressSlices = slicesOf(kubeConfig, apis, ingressController, 'ingress-controller-endpointslices', options);
  const hairpinSlices = slicesOf(kubeConfig, apis, hairpinService, 'hairpin-endpointslices', options);
  const proxyInformers = [ingressService, ingressSlices, hairpinSlices] as ReadonlyArray<ResilientInformer<KubernetesObject>>;
  return {
    all: [...dnsInformers, ...proxyInformers],
    onChange: subscribe({ coredns: dnsInformers, haproxy: proxyInformers }),
    snapshot,
    ingressTarget: () => ({ service: ingressService.list()[0], slices: ingressSlices.list() }),
    hairpinSlices: () => hairpinSlices.list(),
  };
}

function subscribe(byScope: Partial<Record<ChangeScope, ReadonlyArray<ResilientInformer<KubernetesObject>>>>) {
  return (listener: (scope: ChangeScope) => void): void => {
    for (const [scope, informers] of Object.entries(byScope) as Array<[ChangeScope, ReadonlyArray<ResilientInformer<KubernetesObject>>]>) {
      for (const informer of informers) informer.onChange(() => listener(scope));
    }
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
      list: (request) => apis.discovery.listNamespacedEndpointSlice({ namespace: service.namespace, labelSelector }, request),
      labelSelector,
    },
    options,
  );
}
