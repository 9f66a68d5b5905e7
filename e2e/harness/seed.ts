/**
 * What a real cluster has before hairpin-proxy is installed, minus kubelets: the CoreDNS
 * ConfigMap (kubeadm's Corefile), the hairpin HAProxy Service with a fixed ClusterIP and an
 * EndpointSlice, the controller's namespace, and the controller's RBAC from deploy/base.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from './controlplane.js';
import { CONTROLLER_NAMESPACE } from './controlplane.js';
import { freePort } from './ports.js';
import { applyControllerRbac } from './rbac.js';

export const COREDNS_NAMESPACE = 'kube-system';
export const COREDNS_CONFIGMAP = 'coredns';
export const COREDNS_KEY = 'Corefile';
export const HAIRPIN_SERVICE = 'hairpin-proxy-haproxy';
export const HAIRPIN_CLUSTER_IP = '10.96.100.100';
export const HAIRPIN_FQDN = `${HAIRPIN_SERVICE}.${CONTROLLER_NAMESPACE}.svc.cluster.local`;

export interface CorefilePorts {
  readonly health: number;
  readonly ready: number;
  readonly metrics: number;
}

/**
 * kubeadm's default Corefile (kubeadm/app/phases/addons/dns), byte for byte in its shape, with
 * three deliberate differences, all outside anything hairpin-proxy edits:
 *  - health, ready and prometheus listen on random 127.0.0.1 ports instead of :8080, :8181 and
 *    :9153, which would collide with other processes on a shared test machine (and with each
 *    other across suites). A Corefile may name them; kubeadm's simply does not.
 *  - `forward . 127.0.0.1:1` instead of `forward . /etc/resolv.conf`: the test machine may be
 *    offline, and an unreachable upstream makes every non-cluster answer depend on network
 *    timeouts. Port 1 refuses at once, so a name we do not rewrite fails fast (SERVFAIL), which
 *    is exactly what "no longer resolves to the hairpin Service" needs to observe.
 *  - `reload 2s` (its minimum) instead of `reload` (30 s + up to 15 s jitter): the DNS answer
 *    changes within seconds of the ConfigMap write instead of within a minute.
 * The `.:53` server block and the `kubernetes` block stay exactly as in a cluster; the CoreDNS
 * harness (coredns.ts) adapts those two for the local process, the way a Pod's environment would.
 */
export function kubeadmCorefile(ports: CorefilePorts): string {
  return `.:53 {
    errors
    health 127.0.0.1:${ports.health} {
       lameduck 5s
    }
    ready 127.0.0.1:${ports.ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus 127.0.0.1:${ports.metrics}
    forward . 127.0.0.1:1 {
       max_concurrent 1000
    }
    cache 30
    loop
    reload 2s
    loadbalance
}
`;
}

/** Where k3s mounts the coredns-custom ConfigMap in its CoreDNS Pod. */
export const K3S_CUSTOM_DIR = '/etc/coredns/custom';

/**
 * k3s's Corefile (its manifests/coredns.yaml), with the same three test-only differences as
 * kubeadmCorefile, and without its `hosts /etc/coredns/NodeHosts` block (a file k3s's agent
 * writes; nothing here would). What matters is kept: the root block imports
 * /etc/coredns/custom/*.override, and the top level imports /etc/coredns/custom/*.server.
 */
export function k3sCorefile(ports: CorefilePorts): string {
  return `.:53 {
    errors
    health 127.0.0.1:${ports.health}
    ready 127.0.0.1:${ports.ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus 127.0.0.1:${ports.metrics}
    forward . 127.0.0.1:1
    cache 30
    loop
    reload 2s
    loadbalance
    import ${K3S_CUSTOM_DIR}/*.override
}
import ${K3S_CUSTOM_DIR}/*.server
`;
}

export interface SeededCluster {
  readonly corefile: string;
  readonly corefilePorts: CorefilePorts;
}

/**
 * `rbac: 'shipped'` grants the controller exactly deploy/base/rbac.yaml; the default adds what the
 * suites' other modes need (rbac.ts).
 */
export async function seedCluster(plane: ControlPlane, options: { rbac?: 'shipped' | 'suites' } = {}): Promise<SeededCluster> {
  const corefilePorts = { health: await freePort(), ready: await freePort(), metrics: await freePort() };
  const corefile = kubeadmCorefile(corefilePorts);
  await plane.apply([
    // kube-system exists already (the apiserver creates it); applying it is a no-op.
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: COREDNS_NAMESPACE } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CONTROLLER_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: COREDNS_CONFIGMAP, namespace: COREDNS_NAMESPACE },
      data: { [COREDNS_KEY]: corefile },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: HAIRPIN_SERVICE, namespace: CONTROLLER_NAMESPACE, labels: { 'app.kubernetes.io/name': HAIRPIN_SERVICE } },
      spec: {
        type: 'ClusterIP',
        clusterIP: HAIRPIN_CLUSTER_IP,
        selector: { 'app.kubernetes.io/name': HAIRPIN_SERVICE },
        ports: [
          { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
          { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
        ],
      },
    },
    {
      // No kube-controller-manager runs, so nobody else would create it.
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${HAIRPIN_SERVICE}-e2e`,
        namespace: CONTROLLER_NAMESPACE,
        labels: { 'kubernetes.io/service-name': HAIRPIN_SERVICE, 'endpointslice.kubernetes.io/managed-by': 'e2e' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.10'], conditions: { ready: true } }],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'https', port: 443, protocol: 'TCP' },
      ],
    },
  ]);
  await applyControllerRbac(plane, options.rbac ?? 'suites');
  return { corefile, corefilePorts };
}

/** The Corefile currently in the CoreDNS ConfigMap. */
export async function readCorefile(plane: ControlPlane): Promise<string> {
  const configMap = await plane.getJson<{ data?: Record<string, string> }>(['configmap', '-n', COREDNS_NAMESPACE, COREDNS_CONFIGMAP]);
  return configMap.data?.[COREDNS_KEY] ?? '';
}

/**
 * Replaces the Corefile in the ConfigMap (as a user with kubectl would). The patch goes through a
 * file: a Corefile near the ConfigMap size limit is far longer than one command-line argument may be.
 */
export async function writeCorefile(plane: ControlPlane, corefile: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-corefile-'));
  try {
    const patch = join(dir, 'patch.json');
    writeFileSync(patch, JSON.stringify({ data: { [COREDNS_KEY]: corefile } }));
    await plane.kubectl(['patch', 'configmap', '-n', COREDNS_NAMESPACE, COREDNS_CONFIGMAP, '--type=merge', `--patch-file=${patch}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface IngressSpec {
  readonly namespace?: string;
  readonly name: string;
  readonly hosts?: readonly string[];
  readonly tlsHosts?: readonly string[];
  readonly ingressClassName?: string;
}

/** A networking.k8s.io/v1 Ingress with rule hosts and TLS hosts (backend: a dummy Service). */
export function ingress(spec: IngressSpec): object {
  const backend = { service: { name: 'web', port: { number: 80 } } };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: spec.name, namespace: spec.namespace ?? 'default' },
    spec: {
      ...(spec.ingressClassName ? { ingressClassName: spec.ingressClassName } : {}),
      ...(spec.tlsHosts ? { tls: [{ hosts: [...spec.tlsHosts], secretName: `${spec.name}-tls` }] } : {}),
      rules: (spec.hosts ?? []).map((host) => ({
        host,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend }] },
      })),
      ...(spec.hosts?.length ? {} : { defaultBackend: backend }),
    },
  };
}
