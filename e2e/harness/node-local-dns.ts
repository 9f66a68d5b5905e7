/**
 * node-local-dns, played by a real CoreDNS: node-cache itself cannot be built here (the Go module
 * proxy refuses k8s.io/dns), and what matters is the Corefile it runs, which is CoreDNS's. It reads
 * the node-local-dns ConfigMap as the Pod mounts it and substitutes the two pillars node-cache
 * fills in at start: __PILLAR__CLUSTER__DNS__ (the cluster DNS: the harness's CoreDNS here) and
 * __PILLAR__UPSTREAM__SERVERS__ (the node's resolv.conf upstreams: 127.0.0.1:1 here, which refuses
 * at once). Its link-local listen address and fixed metrics/health ports become loopback ones.
 */
import type { ControlPlane } from './controlplane.js';
import { startCoreDns, type CoreDns } from './coredns.js';
import { freePorts } from './ports.js';
import { COREDNS_NAMESPACE } from './seed.js';

export const NODE_LOCAL_DNS_CONFIGMAP = 'node-local-dns';
export const NODE_LOCAL_ADDRESS = '169.254.20.10';
export const KUBE_DNS_IP = '10.96.0.10';

/**
 * The kubernetes/dns addon's nodelocaldns ConfigMap as installed: the installer substituted the
 * local address, the kube-dns IP and the cluster domain; the two pillars are left to node-cache.
 */
export function nodeLocalDnsCorefile(): string {
  const block = (zone: string, upstream: string, extra: string[] = []) => `${zone}:53 {
    errors
    cache 30
    reload 2s
    loop
    bind ${NODE_LOCAL_ADDRESS} ${KUBE_DNS_IP}
    forward . ${upstream}${upstream === '__PILLAR__CLUSTER__DNS__' ? ' {\n            force_tcp\n    }' : ''}
    prometheus :9253
${extra.map((line) => `    ${line}\n`).join('')}    }
`;
  return [
    block('cluster.local', '__PILLAR__CLUSTER__DNS__', [`health ${NODE_LOCAL_ADDRESS}:8080`]),
    block('in-addr.arpa', '__PILLAR__CLUSTER__DNS__'),
    block('ip6.arpa', '__PILLAR__CLUSTER__DNS__'),
    block('.', '__PILLAR__UPSTREAM__SERVERS__'),
  ].join('');
}

export async function startNodeLocalDns(options: { controlPlane: ControlPlane; tmpDir: string; clusterDns: CoreDns }): Promise<CoreDns> {
  const [metrics = 0, health = 0] = await freePorts(2);
  const substitute = (corefile: string) =>
    corefile
      .replaceAll('__PILLAR__CLUSTER__DNS__', `127.0.0.1:${options.clusterDns.port}`)
      .replaceAll('__PILLAR__UPSTREAM__SERVERS__', '127.0.0.1:1')
      .replaceAll(`bind ${NODE_LOCAL_ADDRESS} ${KUBE_DNS_IP}`, 'bind 127.0.0.1')
      .replaceAll('prometheus :9253', `prometheus 127.0.0.1:${metrics}`)
      .replaceAll(`health ${NODE_LOCAL_ADDRESS}:8080`, `health 127.0.0.1:${health}`);
  return startCoreDns({
    controlPlane: options.controlPlane,
    tmpDir: options.tmpDir,
    name: 'node-local-dns',
    configMap: { namespace: COREDNS_NAMESPACE, name: NODE_LOCAL_DNS_CONFIGMAP, key: 'Corefile' },
    substitute,
  });
}
