/**
 * What the story's cluster holds besides seedCluster()'s objects: ingress-nginx's IngressClass,
 * its LoadBalancer Service with the load balancer's IP in its status, the EndpointSlice for the
 * ingress controller pod, and the application's Ingress for the test host.
 */
import { ingress, readCorefile, writeCorefile, type ControlPlane } from '../harness/index.js';
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
  readonly loadBalancerIp: string;
  readonly ingressControllerPodIp: string;
}

export async function applyClusterObjects(plane: ControlPlane, options: ClusterObjectsOptions): Promise<void> {
  await plane.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NAMESPACE } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NAMESPACE } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: INGRESS_CLASS },
      spec: { controller: 'k8s.io/ingress-nginx' },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: INGRESS_SERVICE, namespace: INGRESS_NAMESPACE },
      spec: {
        type: 'LoadBalancer',
        selector: { 'app.kubernetes.io/name': 'ingress-nginx' },
        ports: INGRESS_SERVICE_PORTS.map((p) => ({ ...p, targetPort: p.port })),
      },
    },
    {
      // No kube-controller-manager runs, so nobody else would create it.
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${INGRESS_SERVICE}-story`,
        namespace: INGRESS_NAMESPACE,
        labels: { 'kubernetes.io/service-name': INGRESS_SERVICE, 'endpointslice.kubernetes.io/managed-by': 'e2e' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [options.ingressControllerPodIp], conditions: { ready: true } }],
      ports: INGRESS_SERVICE_PORTS,
    },
    ingress({ name: 'shop', namespace: APP_NAMESPACE, hosts: [options.host], tlsHosts: [options.host], ingressClassName: INGRESS_CLASS }),
  ]);
  // What the cloud controller manager writes once the load balancer exists. ipMode VIP (the
  // default) is what makes kube-proxy short-circuit the address; ipMode Proxy would not.
  await plane.kubectl([
    'patch', 'service', INGRESS_SERVICE, '-n', INGRESS_NAMESPACE, '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: options.loadBalancerIp, ipMode: 'VIP' }] } } }),
  ]);
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
