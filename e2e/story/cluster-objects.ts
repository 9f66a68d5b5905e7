/**
 * What the story's cluster holds besides seedCluster()'s objects: the upstream's LoadBalancer
 * Service with the load balancer's IP in its status and the EndpointSlice for its pod, and what
 * asks for the test host: ingress-nginx's IngressClass and the application's Ingress, or (source
 * gateway) the Gateway API CRDs, a GatewayClass, a Gateway and an HTTPRoute it accepted.
 */
import { gateway, httpRoute, ingress, installGatewayApiCrds, readCorefile, setRouteAccepted, writeCorefile, type ControlPlane } from '../harness/index.js';
import { INGRESS_HTTP_PORT, INGRESS_HTTPS_PORT } from './ingress-nginx.js';

export const INGRESS_NAMESPACE = 'ingress-nginx';
export const INGRESS_SERVICE = 'ingress-nginx-controller';
export const INGRESS_CLASS = 'nginx';
export const APP_NAMESPACE = 'shop';

/**
 * The ingress-nginx Service's ports, each to the nginx listener of the same number. The hairpin
 * HAProxy listens on exactly these (the controller's --haproxy-ports: port P forwards to the
 * Service port numbered P), and the hairpin Service (seed.ts) exposes the same 80 and 443.
 */
export const INGRESS_SERVICE_PORTS = [
  { name: 'http', port: INGRESS_HTTP_PORT, protocol: 'TCP' },
  { name: 'https', port: INGRESS_HTTPS_PORT, protocol: 'TCP' },
] as const;

export interface ClusterObjectsOptions {
  readonly host: string;
  readonly source: 'ingress' | 'gateway';
  /** The upstream's LoadBalancer Service. */
  readonly service: { readonly namespace: string; readonly name: string };
  readonly loadBalancerIp: string;
  readonly ingressControllerPodIp: string;
}

export const GATEWAY_CLASS = 'eg';
export const GATEWAY = { namespace: 'infra', name: 'public' } as const;

export async function applyClusterObjects(plane: ControlPlane, options: ClusterObjectsOptions): Promise<void> {
  const { service } = options;
  await plane.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: service.namespace } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: service,
      spec: {
        type: 'LoadBalancer',
        selector: { 'app.kubernetes.io/name': service.name },
        ports: INGRESS_SERVICE_PORTS.map((p) => ({ ...p, targetPort: p.port })),
      },
    },
    {
      // No kube-controller-manager runs, so nobody else would create it.
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${service.name}-story`,
        namespace: service.namespace,
        labels: { 'kubernetes.io/service-name': service.name, 'endpointslice.kubernetes.io/managed-by': 'e2e' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [options.ingressControllerPodIp], conditions: { ready: true } }],
      ports: INGRESS_SERVICE_PORTS,
    },
  ]);
  // What the cloud controller manager writes once the load balancer exists. ipMode VIP (the
  // default) is what makes kube-proxy short-circuit the address; ipMode Proxy would not.
  await plane.kubectl([
    'patch', 'service', service.name, '-n', service.namespace, '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: options.loadBalancerIp, ipMode: 'VIP' }] } } }),
  ]);
  if (options.source === 'ingress') {
    await plane.apply([
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: INGRESS_CLASS }, spec: { controller: 'k8s.io/ingress-nginx' } },
      ingress({ name: 'shop', namespace: APP_NAMESPACE, hosts: [options.host], tlsHosts: [options.host], ingressClassName: INGRESS_CLASS }),
    ]);
    return;
  }
  await installGatewayApiCrds(plane, { channel: 'standard', kinds: ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute'] });
  const route = { kind: 'HTTPRoute', namespace: APP_NAMESPACE, name: 'shop', gateway: GATEWAY } as const;
  await plane.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: GATEWAY.namespace } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: GATEWAY_CLASS }, spec: { controllerName: 'example.com/story-gateway-controller' } },
    gateway({ ...GATEWAY, className: GATEWAY_CLASS }),
    httpRoute({ ...route, hostnames: [options.host] }),
  ]);
  // What the Gateway API implementation writes once it has taken the route.
  await setRouteAccepted(plane, route, true);
}

/**
 * Points the cluster's upstream resolver at the internet's DNS (kubeadm's `forward .
 * /etc/resolv.conf` on a real node; `127.0.0.1:1` in the seeded Corefile): the test host is a
 * public name that must resolve to the load balancer before hairpin-proxy is installed. TCP only,
 * because the upstream is reached through a relay (relay.ts). Returns the new Corefile.
 */
export async function setUpstreamResolver(plane: ControlPlane, upstream: string): Promise<string> {
  const seeded = await readCorefile(plane);
  const edited = seeded.replace(/^(\s*)forward \. 127\.0\.0\.1:1 \{\n/m, `$1forward . ${upstream} {\n$1   force_tcp\n`);
  if (edited === seeded) throw new Error(`the seeded Corefile has no "forward . 127.0.0.1:1 {" line:\n${seeded}`);
  await writeCorefile(plane, edited);
  return edited;
}
