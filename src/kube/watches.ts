import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import type { EndpointSliceLike, IngressClassLike, IngressLike, IngressTarget, ServiceLike, Snapshot } from '../model/objects.js';
import type { KubeApis } from './client.js';
import { GatewayApiWatches } from './gateway-api.js';
import { ResilientInformer, type Cached, type InformerOptions } from './informer.js';
import { snapshotOf, type ConfigMapSnapshot } from './configmaps.js';
import { slimConfigMap, slimEndpointSlice, slimIngress, slimIngressClass, slimService } from './slim.js';

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

export interface WatchTargets {
  /**
   * The CoreDNS ConfigMap (absent for hosts-file, which writes no Corefile). Its updates ask for a
   * sync, except those ownWrite recognises by resourceVersion: the echo of our own write would
   * re-plan and re-render everything for nothing, and delay the next real change.
   */
  readonly coredns?: NamespacedName & { readonly ownWrite?: (resourceVersion: string) => boolean };
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
  readonly all: () => ReadonlyArray<ResilientInformer<Cached>>;
  /** Calls listener with the scope of every change any informer sees, and when a Gateway API kind appears. */
  readonly onChange: (listener: (scope: ChangeScope) => void) => void;
  readonly snapshot: () => Snapshot;
  /** An upstream's Service and EndpointSlices (no slices when HAProxy is not managed). */
  readonly upstreamTarget: (upstream: NamespacedName) => IngressTarget;
  readonly hairpinSlices: () => readonly EndpointSliceLike[];
  /** The Services of hairpinNamespace (empty without it). */
  readonly hairpinServices: () => readonly ServiceLike[];
  /** The CoreDNS ConfigMap as cached (undefined before it is listed, or without a coredns target). */
  readonly corednsConfigMap: () => ConfigMapSnapshot | undefined;
  /** Looks for the Gateway API CRDs (before start), then keeps looking for missing ones until stop. */
  readonly discoverGatewayApi: (signal?: AbortSignal) => Promise<void>;
  readonly startRechecking: () => void;
  readonly stopRechecking: () => void;
}

/**
 * What the controller watches. The CoreDNS ConfigMap is watched so that a user's edit (or a
 * broken Corefile being fixed) triggers a sync at once instead of at the next resync. Every
 * namespaced watch is narrowed by a selector to the one object (or one Service's slices) it
 * needs, which keeps caches small and lets RBAC grant exactly that; and every cache holds its
 * objects slimmed to what is read of them (kube/slim.ts).
 */
export function watchCluster(kubeConfig: KubeConfig, apis: KubeApis, targets: WatchTargets, options: InformerOptions): ClusterWatches {
  const ingresses = new ResilientInformer<IngressLike>(
    kubeConfig,
    {
      name: 'ingresses',
      path: '/apis/networking.k8s.io/v1/ingresses',
      list: (request, page) => apis.networking.listIngressForAllNamespaces({ ...page }, request),
      slim: slimIngress,
    },
    options,
  );
  const ingressClasses = new ResilientInformer<IngressClassLike>(
    kubeConfig,
    {
      name: 'ingressclasses',
      path: '/apis/networking.k8s.io/v1/ingressclasses',
      list: (request, page) => apis.networking.listIngressClass({ ...page }, request),
      slim: slimIngressClass,
    },
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
  const byScope: ReadonlyArray<[ChangeScope, ReadonlyArray<ResilientInformer<Cached>>]> = [
    ['coredns', [ingresses, ingressClasses, ...(corednsConfigMap ? [corednsConfigMap] : []), ...(hairpinServices ? [hairpinServices] : []), ...services]],
    ['haproxy', (targets.haproxy ? [...services, ...upstreams.flatMap((u) => (u.slices ? [u.slices] : [])), ...(hairpinSlices ? [hairpinSlices] : [])] : [])],
  ];
  for (const [scope, informers] of byScope) {
    for (const informer of informers) {
      if (informer === corednsConfigMap) informer.onChange(({ verb, object }) => verb === 'update' && targets.coredns?.ownWrite?.(object.metadata?.resourceVersion ?? '') ? undefined : notify(scope));
      else informer.onChange(() => notify(scope));
    }
  }
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
    corednsConfigMap: () => {
      const [cached] = corednsConfigMap?.list() ?? [];
      return cached ? snapshotOf(cached as V1ConfigMap) : undefined;
    },
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

/** Watched so that a person's edit is repaired at once, and cached whole: the sink's first read of each sync. */
function configMapNamed(kubeConfig: KubeConfig, apis: KubeApis, configMap: NamespacedName, options: InformerOptions): ResilientInformer<Cached> {
  const fieldSelector = byName(configMap);
  return new ResilientInformer<Cached>(
    kubeConfig,
    {
      name: 'coredns-configmap',
      path: `/api/v1/namespaces/${configMap.namespace}/configmaps`,
      list: (request, page) => apis.core.listNamespacedConfigMap({ namespace: configMap.namespace, fieldSelector, ...page }, request),
      slim: slimConfigMap,
      fieldSelector,
    },
    options,
  );
}

function servicesOf(kubeConfig: KubeConfig, apis: KubeApis, namespace: string, options: InformerOptions): ResilientInformer<ServiceLike> {
  return new ResilientInformer<ServiceLike>(
    kubeConfig,
    {
      name: `hairpin-services ${namespace}`,
      path: `/api/v1/namespaces/${namespace}/services`,
      list: (request, page) => apis.core.listNamespacedService({ namespace, ...page }, request),
      slim: slimService,
    },
    options,
  );
}

function serviceNamed(kubeConfig: KubeConfig, apis: KubeApis, service: NamespacedName, options: InformerOptions): ResilientInformer<ServiceLike> {
  const fieldSelector = byName(service);
  return new ResilientInformer<ServiceLike>(
    kubeConfig,
    {
      name: `upstream-service ${service.namespace}/${service.name}`,
      path: `/api/v1/namespaces/${service.namespace}/services`,
      list: (request, page) => apis.core.listNamespacedService({ namespace: service.namespace, fieldSelector, ...page }, request),
      slim: slimService,
      fieldSelector,
    },
    options,
  );
}

/** The EndpointSlices of one Service, by the label the EndpointSlice controller sets. */
function slicesOf(kubeConfig: KubeConfig, apis: KubeApis, service: NamespacedName, name: string, options: InformerOptions): ResilientInformer<EndpointSliceLike> {
  const labelSelector = `kubernetes.io/service-name=${service.name}`;
  return new ResilientInformer<EndpointSliceLike>(
    kubeConfig,
    {
      name,
      path: `/apis/discovery.k8s.io/v1/namespaces/${service.namespace}/endpointslices`,
      list: (request, page) => apis.discovery.listNamespacedEndpointSlice({ namespace: service.namespace, labelSelector, ...page }, request),
      slim: slimEndpointSlice,
      labelSelector,
    },
    options,
  );
}
