import type { KubeConfig, KubernetesObject, V1ConfigMap, V1EndpointSlice, V1Ingress, V1IngressClass, V1Service } from '@kubernetes/client-node';
import type { IngressTarget, Snapshot } from '../model/objects.js';
import type { KubeApis } from './client.js';
import { GatewayApiWatches } from './gateway-api.js';
import { ResilientInformer, type InformerOptions } from './informer.js';

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

export interface WatchTargets {
  /** The CoreDNS ConfigMap (absent for hosts-file, which writes no Corefile). */
  readonly coredns?: NamespacedName;
  /** Every Service of this namespace: the hairpin Services whose ClusterIPs hosts-file writes. */
  readonly hairpinNamespace?: string;
  /** The upstream Services: their PROXY annotation and load balancer ipMode matter to DNS and HAProxy. */
  readonly upstreams: readonly NamespacedName[];
  /** Present when the controller configures the hairpin HAProxy: the upstreams' endpoints and the replicas. */
  readonly haproxy?: {
    /** The hairpin HAProxy Service, whose pods are the Data Plane API replicas. */
    readonly hairpinService: NamespacedName;
  };
  /** Present with --target: Gateway API routes are served, their CRDs looked for every recheckMs. */
  readonly gatewayApi?: { readonly recheckMs: number };
}

/** What changed, so that only the keys depending on it are queued. */
export type ChangeScope = 'coredns' | 'haproxy';

export interface ClusterWatches {
  /** Every informer, those of Gateway API kinds found so far included. */
  readonly all: () => ReadonlyArray<ResilientInformer<KubernetesObject>>;
  /** Calls listener with the scope of every change any informer sees, and when a Gateway API kind appears. */
  readonly onChange: (listener: (scope: ChangeScope) => void) => void;
  readonly snapshot: () => Snapshot;
  /** An upstream's Service and EndpointSlices (no slices when HAProxy is not managed). */
  readonly upstreamTarget: (upstream: NamespacedName) => IngressTarget;
  readonly hairpinSlices: () => readonly V1EndpointSlice[];
  /** The Services of hairpinNamespace (empty without it). */
  readonly hairpinServices: () => readonly V1Service[];
  /** Looks for the Gateway API CRDs (before start), then keeps looking for missing ones until stop. */
  readonly discoverGatewayApi: (signal?: AbortSignal) => Promise<void>;
  readonly startRechecking: () => void;
  readonly stopRechecking: () => void;
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
  const corednsConfigMap = targets.coredns ? configMapNamed(kubeConfig, apis, targets.coredns, options) : undefined;
  const hairpinServices = targets.hairpinNamespace ? servicesOf(kubeConfig, apis, targets.hairpinNamespace, options) : undefined;
  const upstreams = targets.upstreams.map((upstream) => ({
    ref: upstream,
    service: serviceNamed(kubeConfig, apis, upstream, options),
    slices: targets.haproxy ? slicesOf(kubeConfig, apis, upstream, `upstream-endpointslices ${upstream.namespace}/${upstream.name}`, options) : undefined,
  }));
  const hairpinSlices = targets.haproxy ? slicesOf(kubeConfig, apis, targets.haproxy.hairpinService, 'hairpin-endpointslices', options) : undefined;
  const listeners = new Set<(scope: ChangeScope) => void>();
  const gatewayApi = targets.gatewayApi
    ? new GatewayApiWatches(kubeConfig, apis, { ...options, recheckMs: targets.gatewayApi.recheckMs, onDiscovered: () => notify('coredns') })
    : undefined;
  const notify = (scope: ChangeScope) => {
    for (const listener of listeners) listener(scope);
  };

  const services = upstreams.map((u) => u.service);
  const byScope: ReadonlyArray<[ChangeScope, ReadonlyArray<ResilientInformer<KubernetesObject>>]> = [
    ['coredns', [ingresses, ingressClasses, ...(corednsConfigMap ? [corednsConfigMap] : []), ...(hairpinServices ? [hairpinServices] : []), ...services] as Array<ResilientInformer<KubernetesObject>>],
    ['haproxy', (targets.haproxy ? [...services, ...upstreams.flatMap((u) => (u.slices ? [u.slices] : [])), ...(hairpinSlices ? [hairpinSlices] : [])] : []) as Array<ResilientInformer<KubernetesObject>>],
  ];
  for (const [scope, informers] of byScope) for (const informer of informers) informer.onChange(() => notify(scope));
  gatewayApi?.onChange(() => notify('coredns'));
  const fixed = [...new Set(byScope.flatMap(([, informers]) => informers))];

  return {
    all: () => [...fixed, ...(gatewayApi?.informers ?? [])],
    onChange: (listener) => void listeners.add(listener),
    snapshot: () => ({
      ingresses: ingresses.list(),
      ingressClasses: ingressClasses.list(),
      gateways: gatewayApi?.gateways() ?? [],
      routes: gatewayApi?.routes() ?? [],
      services: services.flatMap((informer) => informer.list()),
    }),
    upstreamTarget: (ref) => {
      const upstream = upstreams.find((u) => u.ref.namespace === ref.namespace && u.ref.name === ref.name);
      return { service: upstream?.service.list()[0], slices: upstream?.slices?.list() ?? [] };
    },
    hairpinSlices: () => hairpinSlices?.list() ?? [],
    hairpinServices: () => hairpinServices?.list() ?? [],
    discoverGatewayApi: async (signal) => {
      try {
        await gatewayApi?.discover(signal);
      } catch (error) {
        // Not fatal: the recheck looks again, and the other watches do not need it.
        options.log.warn({ err: error }, 'could not look for the Gateway API CRDs; looking again later');
      }
    },
    startRechecking: () => gatewayApi?.startRechecking(),
    stopRechecking: () => gatewayApi?.stop(),
  };
}

function byName({ name }: NamespacedName): string {
  return `metadata.name=${name}`;
}

function configMapNamed(kubeConfig: KubeConfig, apis: KubeApis, configMap: NamespacedName, options: InformerOptions): ResilientInformer<V1ConfigMap> {
  const fieldSelector = byName(configMap);
  return new ResilientInformer<V1ConfigMap>(
    kubeConfig,
    {
      name: 'coredns-configmap',
      path: `/api/v1/namespaces/${configMap.namespace}/configmaps`,
      list: (request) => apis.core.listNamespacedConfigMap({ namespace: configMap.namespace, fieldSelector }, request),
      fieldSelector,
    },
    options,
  );
}

function servicesOf(kubeConfig: KubeConfig, apis: KubeApis, namespace: string, options: InformerOptions): ResilientInformer<V1Service> {
  return new ResilientInformer<V1Service>(
    kubeConfig,
    { name: `hairpin-services ${namespace}`, path: `/api/v1/namespaces/${namespace}/services`, list: (request) => apis.core.listNamespacedService({ namespace }, request) },
    options,
  );
}

function serviceNamed(kubeConfig: KubeConfig, apis: KubeApis, service: NamespacedName, options: InformerOptions): ResilientInformer<V1Service> {
  const fieldSelector = byName(service);
  return new ResilientInformer<V1Service>(
    kubeConfig,
    {
      name: `upstream-service ${service.namespace}/${service.name}`,
      path: `/api/v1/namespaces/${service.namespace}/services`,
      list: (request) => apis.core.listNamespacedService({ namespace: service.namespace, fieldSelector }, request),
      fieldSelector,
    },
    options,
  );
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
