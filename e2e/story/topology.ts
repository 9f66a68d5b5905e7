/**
 * The story's "cluster" as network namespaces on one machine:
 *
 *   node      ingress-nginx (the ingress controller pod)           10.244.0.20
 *   gateway-proxy  (with a second upstream) a Gateway's proxy pod 10.244.0.21
 *   hairpin   the hairpin HAProxy pod (seed.ts's EndpointSlice)     10.244.0.10
 *   pod       cert-manager: the in-cluster client of the story      10.244.0.30
 *   internet  the cloud load balancer, the ACME server and public  10.244.0.1 (the pod's gateway),
 *             DNS, reached from the cluster through its gateway     203.0.113.10 (LB), 198.51.100.10 (ACME)
 *   switch    a bridge joining the four on 10.244.0.0/24
 *
 * Every address lives on an interface inside these namespaces (TEST-NET and 10.244/16 ranges),
 * nothing connects them to the machine's own network, and deleting the namespaces (cleanupAll)
 * removes every interface, route and iptables rule with them. The root namespace is untouched.
 */
import { createNetns, createVethPair, HAIRPIN_CLUSTER_IP, writeNetnsResolvConf, type Netns } from '../harness/index.js';
import { runOk } from './run.js';

export const CLUSTER_PREFIX = 24;
export const ADDRESSES = {
  gateway: '10.244.0.1',
  hairpinPod: '10.244.0.10',
  ingressNginxPod: '10.244.0.20',
  /** The second upstream's pod, where a test has two (createTopology({ secondUpstream: true })). */
  gatewayProxyPod: '10.244.0.21',
  clientPod: '10.244.0.30',
  /** The LoadBalancer Service's status.loadBalancer.ingress[].ip. */
  loadBalancer: '203.0.113.10',
  /** The second upstream's load balancer. */
  gatewayLoadBalancer: '203.0.113.20',
  /** pebble and its public DNS (pebble-challtestsrv). */
  acme: '198.51.100.10',
  /** The kube-dns Service's ClusterIP: the pod's nameserver. */
  kubeDns: '10.96.0.10',
  hairpinService: HAIRPIN_CLUSTER_IP,
} as const;

/** Where cert-manager runs; its resolv.conf search path says so. */
export const CLIENT_POD_NAMESPACE = 'cert-manager';

export interface Topology {
  readonly node: Netns;
  /** Present with secondUpstream. */
  readonly gatewayProxy?: Netns;
  readonly hairpin: Netns;
  readonly pod: Netns;
  readonly internet: Netns;
}

export async function createTopology(options: { secondUpstream?: boolean } = {}): Promise<Topology> {
  const switchNs = await createNetns('switch');
  await runOk('ip', ['-n', switchNs.name, 'link', 'add', 'br0', 'type', 'bridge']);
  await runOk('ip', ['-n', switchNs.name, 'link', 'set', 'br0', 'up']);
  const attach = async (label: string, address: string): Promise<Netns> => {
    const ns = await createNetns(label);
    const [, port] = await createVethPair({ netns: ns, address: `${address}/${CLUSTER_PREFIX}` }, { netns: switchNs });
    await runOk('ip', ['-n', switchNs.name, 'link', 'set', port.name, 'master', 'br0']);
    return ns;
  };
  const node = await attach('node', ADDRESSES.ingressNginxPod);
  const hairpin = await attach('hairpin', ADDRESSES.hairpinPod);
  const pod = await attach('pod', ADDRESSES.clientPod);
  const internet = await attach('internet', ADDRESSES.gateway);
  const gatewayProxy = options.secondUpstream ? await attach('gateway-proxy', ADDRESSES.gatewayProxyPod) : undefined;

  // The internet's public addresses are its own: traffic to them ends there, nothing is forwarded.
  for (const address of [ADDRESSES.loadBalancer, ADDRESSES.acme, ...(gatewayProxy ? [ADDRESSES.gatewayLoadBalancer] : [])]) {
    await runOk('ip', ['-n', internet.name, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
  }
  // A pod's default route: without it the kernel refuses connect() to the LB or a ClusterIP
  // before the nat OUTPUT chain (kube-proxy's DNAT) is consulted.
  await runOk('ip', ['-n', pod.name, 'route', 'add', 'default', 'via', ADDRESSES.gateway]);
  return { node, hairpin, pod, internet, ...(gatewayProxy ? { gatewayProxy } : {}) };
}

export interface PortForward {
  readonly why: string;
  readonly from: { readonly address: string; readonly port: number };
  readonly to: { readonly address: string; readonly port: number };
}

/**
 * kube-proxy's iptables rules as seen by a pod's own traffic (the nat OUTPUT chain): a Service
 * address (a ClusterIP, or a LoadBalancer IP: the short-circuit) goes straight to an endpoint.
 */
export async function addKubeProxyRules(pod: Netns, forwards: readonly PortForward[]): Promise<void> {
  for (const { why, from, to } of forwards) {
    await runOk(
      'iptables',
      ['-w', '5', '-t', 'nat', '-A', 'OUTPUT', '-d', `${from.address}/32`, '-p', 'tcp', '--dport', String(from.port), '-m', 'comment', '--comment', why, '-j', 'DNAT', '--to-destination', `${to.address}:${to.port}`],
      { netns: pod.name },
    );
  }
}

/**
 * The pod's /etc/resolv.conf as the kubelet writes it for dnsPolicy ClusterFirst. `ip netns exec`
 * bind-mounts /etc/netns/<name>/resolv.conf over /etc/resolv.conf, so curl and dig run in the pod
 * namespace resolve exactly as the pod would. `use-vc` (DNS over TCP) is the one addition: the
 * kube-dns address is a TCP relay to CoreDNS (see relay.ts).
 */
export function writePodResolvConf(pod: Netns): void {
  writeNetnsResolvConf(pod.name, [
    `search ${CLIENT_POD_NAMESPACE}.svc.cluster.local svc.cluster.local cluster.local`,
    `nameserver ${ADDRESSES.kubeDns}`,
    'options ndots:5 use-vc',
  ]);
}

/** Gives the pod namespace an address of its own to bind a relay on (the kube-dns ClusterIP). */
export async function addLocalAddress(ns: Netns, address: string): Promise<void> {
  await runOk('ip', ['-n', ns.name, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
}
