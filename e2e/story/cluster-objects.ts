/**
 * What the story's cluster holds besides seedCluster()'s objects: ingress-nginx's IngressClass,
 * its LoadBalancer Service with the load balancer's IP in its status, the EndpointSlice for the
 * ingress controller pod, and the application's Ingress for the test host.
 */
import { ingress, readCorefile, writeCorefile, type ControlPlane } from '../harness/index.js';

export const INGRESS_NAMESPACE = 'ingress-nginx';
export const INGRESS_SERVICE = 'ingress-nginx-controller';
export const INGRESS_CLASS = 'nginx';
export const APP_NAMESPACE = 'shop';

export interface ClusterObjectsOptions {
  readonly host: string;
  readonly loadBalancerIp: string;
  readonly ingressControllerPodIp: string;
}

export async function applyClusterObjects(plane: ControlPlane, options: ClusterObjectsOptions): Promise<void> {
  const ports = [
    { name: 'http', port: 80, protocol: 'TCP' },
    { name: 'https', port: 443, protocol: 'TCP' },
  ];
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
        ports: ports.map((p) => ({ ...p, targetPort: p.port })),
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
      ports,
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
