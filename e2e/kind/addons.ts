/**
 * The kind e2e's third-party add-ons, each installed from its release manifest at a pinned version
 * (the URLs below are the only place the versions live):
 * - MetalLB (L2 mode): LoadBalancer IPs from kind's Docker network. Not cloud-provider-kind: it
 *   sets `ipMode: Proxy` on the Service status, kube-proxy then stops short-circuiting the
 *   LoadBalancer IP, and the bug this project fixes disappears (KEP-1860).
 * - ingress-nginx, configured as behind a PROXY-protocol cloud load balancer:
 *   `use-proxy-protocol: "true"`, Service type LoadBalancer.
 * - cert-manager.
 * Every wait is bounded; `kubectl apply --server-side` because CRDs this large can exceed the
 * client-side last-applied annotation.
 */
import { waitFor } from '../harness/index.js';
import { BOUNDS, kindNetworkSubnet, waitBound, type KindCluster } from './cluster.js';

export const MANIFESTS = {
  // MetalLB v0.16.1 (2026-05-27), "Installation by manifest", native mode:
  // metallb.universe.tf/installation (website/content/installation/_index.md at the v0.16.1 tag).
  metallb: 'https://raw.githubusercontent.com/metallb/metallb/v0.16.1/config/manifests/metallb-native.yaml',
  // ingress-nginx controller-v1.15.1 (2026-03-19), its last release: the project was retired in
  // March 2026; tags and manifests stay readable. The kind provider manifest: controller image
  // registry.k8s.io/ingress-nginx/controller:v1.15.1 by digest, IngressClass `nginx`, Service
  // `ingress-nginx/ingress-nginx-controller` already of type LoadBalancer, ConfigMap `data: null`.
  ingressNginx: 'https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/kind/deploy.yaml',
  // cert-manager v1.21.2 (2026-09-11), the release's static manifest, its "Default static install"
  // (cert-manager.io/docs/installation/).
  certManager: 'https://github.com/cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml',
} as const;

/** `kubectl apply` of a release manifest (fetched by kubectl itself). */
const APPLY_MS = 180_000;
/** The waitFor()s below, each polling with one bounded kubectl command. */
const WAITS = {
  metalLbWebhook: { timeoutMs: 120_000, intervalMs: 3_000 },
  proxyProtocolListen: { timeoutMs: 120_000, intervalMs: 3_000 },
  ingressWebhook: { timeoutMs: 180_000, intervalMs: 3_000 },
  loadBalancerIp: { timeoutMs: 300_000, intervalMs: 3_000 },
} as const;
const waited = (wait: { timeoutMs: number; intervalMs: number }): number => waitBound(wait.timeoutMs, BOUNDS.kubectl, wait.intervalMs);

/** Worst cases of the three installs (every command and wait in them is bounded); they run side by side. */
export const INSTALL_MS = {
  // the subnet (docker network inspect, 30 s), the manifest, two rollouts, the pool
  metalLb: 30_000 + APPLY_MS + 2 * BOUNDS.rollout + waited(WAITS.metalLbWebhook),
  // the manifest, two patches, a rollout, three waits
  ingressNginx: APPLY_MS + 2 * BOUNDS.kubectl + BOUNDS.rollout + waited(WAITS.proxyProtocolListen) + waited(WAITS.ingressWebhook) + waited(WAITS.loadBalancerIp),
  certManager: APPLY_MS + BOUNDS.rollout,
} as const;

const applyManifest = (cluster: KindCluster, url: string): Promise<string> =>
  cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', url], { timeoutMs: APPLY_MS });

/**
 * MetalLB with one L2 pool at the top of kind's Docker network (172.18.255.200-250 for the usual
 * 172.18.0.0/16), where Docker does not hand out container addresses.
 */
export async function installMetalLb(cluster: KindCluster): Promise<void> {
  const pool = metalLbPool(await kindNetworkSubnet());
  await applyManifest(cluster, MANIFESTS.metallb);
  await cluster.kubectl(['-n', 'metallb-system', 'rollout', 'status', 'deployment/controller', '--timeout=300s'], { timeoutMs: BOUNDS.rollout });
  await cluster.kubectl(['-n', 'metallb-system', 'rollout', 'status', 'daemonset/speaker', '--timeout=300s'], { timeoutMs: BOUNDS.rollout });
  // MetalLB's validating webhook (in the controller pod) may need a few more seconds.
  await waitFor(
    () =>
      cluster.apply([
        { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'kind', namespace: 'metallb-system' }, spec: { addresses: [pool] } },
        { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'kind', namespace: 'metallb-system' }, spec: { ipAddressPools: ['kind'] } },
      ]).then(() => true),
    { ...WAITS.metalLbWebhook, what: `MetalLB to accept the address pool ${pool}` },
  );
}

/** The last 51 addresses but 4 of an IPv4 subnet of /24 or larger, as a MetalLB range. */
export function metalLbPool(subnet: string): string {
  const [address = '', bits = ''] = subnet.split('/');
  const prefix = Number(bits);
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255)) || !(prefix >= 8 && prefix <= 24)) throw new Error(`not an IPv4 subnet of /24 or larger: ${subnet}`);
  const base = octets.reduce((n, o) => n * 256 + o, 0);
  const last = base - (base % 2 ** (32 - prefix)) + 2 ** (32 - prefix) - 1;
  const ip = (n: number): string => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
  return `${ip(last - 55)}-${ip(last - 5)}`;
}

export interface IngressAddress {
  /** The Service's status.loadBalancer.ingress[0].ip, assigned by MetalLB. */
  readonly ip: string;
  /**
   * Its ipMode, as the apiserver stores it ('' if absent): MetalLB does not set it, and the
   * apiserver defaults it to "VIP" for an ingress entry with an IP (KEP-1860), which lets kube-proxy
   * short-circuit it; "Proxy" would hide the bug.
   */
  readonly ipMode: string;
}

/**
 * ingress-nginx requiring the PROXY protocol on every listener, behind a LoadBalancer Service.
 * Returns once nginx.conf listens with proxy_protocol, the admission webhook admits Ingresses and
 * MetalLB has given the Service its IP.
 */
export async function installIngressNginx(cluster: KindCluster): Promise<IngressAddress> {
  const ns = ['-n', 'ingress-nginx'];
  await applyManifest(cluster, MANIFESTS.ingressNginx);
  await cluster.kubectl([...ns, 'patch', 'configmap', 'ingress-nginx-controller', '--type', 'merge', '-p', '{"data":{"use-proxy-protocol":"true"}}']);
  await cluster.kubectl([...ns, 'patch', 'service', 'ingress-nginx-controller', '--type', 'merge', '-p', '{"spec":{"type":"LoadBalancer"}}']);
  await cluster.kubectl([...ns, 'rollout', 'status', 'deployment/ingress-nginx-controller', '--timeout=300s'], { timeoutMs: BOUNDS.rollout });
  await waitFor(
    () => cluster.kubectl([...ns, 'exec', 'deployment/ingress-nginx-controller', '--', 'grep', '-Eq', 'listen [^;]*proxy_protocol', '/etc/nginx/nginx.conf']).then(() => true),
    { ...WAITS.proxyProtocolListen, what: 'ingress-nginx to listen with proxy_protocol (use-proxy-protocol: "true")' },
  );
  await waitFor(
    () => cluster.kubectl(['-n', 'default', 'create', 'ingress', 'webhook-probe', '--class=nginx', '--rule=probe.e2e.test/=probe:80', '--dry-run=server']).then(() => true),
    { ...WAITS.ingressWebhook, what: "ingress-nginx's admission webhook to admit an Ingress" },
  );
  return waitFor(
    async () => {
      const service = await cluster.getJson<{ status?: { loadBalancer?: { ingress?: Array<{ ip?: string; ipMode?: string }> } } }>([...ns, 'get', 'service', 'ingress-nginx-controller']);
      const entry = service.status?.loadBalancer?.ingress?.[0];
      return entry?.ip ? { ip: entry.ip, ipMode: entry.ipMode ?? '' } : undefined;
    },
    { ...WAITS.loadBalancerIp, what: 'MetalLB to give ingress-nginx-controller a LoadBalancer IP' },
  );
}

export async function installCertManager(cluster: KindCluster): Promise<void> {
  await applyManifest(cluster, MANIFESTS.certManager);
  await cluster.kubectl(['-n', 'cert-manager', 'wait', '--for=condition=Available', 'deployment', '--all', '--timeout=300s'], { timeoutMs: BOUNDS.rollout });
}
