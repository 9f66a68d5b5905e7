/**
 * The hairpin story on a real node: what the node test (story.node.test.ts) and the DNS-wait
 * benchmark (bench/node-dns.ts) share. setUpNodeScenario() builds the images, starts the outside
 * (load balancer, ACME, public DNS) and the node, runs CoreDNS, "ingress-nginx" behind a
 * LoadBalancer Service whose status carries the load balancer's IP (no ipMode given, so the apiserver defaults it to VIP), the
 * application's Ingress and the client Pod, and places an ACME order for the test host.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataplaneTools, waitFor, type ControlPlane } from '../harness/index.js';
import { AcmeOrder } from '../story/acme.js';
import { selfSignedCertificate } from '../story/certs.js';
import { run, runOk } from '../story/run.js';
import { startNodeCluster, type NodeCluster } from './cluster.js';
import { buildNodeImage, type NodeImageName } from './node-images.js';
import { NODE_RESOLV_CONF, OUTSIDE, startOutside, type Outside } from './outside.js';
import {
  appIngress,
  CLIENT_NAMESPACE,
  CLIENT_POD,
  clientObjects,
  corednsObjects,
  INGRESS_NAMESPACE,
  INGRESS_SERVICE,
  ingressNginxObjects,
  writeOverlay,
} from './workloads.js';

export const TEST_HOST = 'shop.example.test';

export interface NodeScenario {
  readonly node: NodeCluster;
  readonly plane: ControlPlane;
  readonly outside: Outside;
  readonly images: Readonly<Record<NodeImageName, string>>;
  /** Whether the hairpin HAProxy image has the Data Plane API (else: the static overlay). */
  readonly dataplaneapi: boolean;
  /** The client Pod's network namespace, for `ip netns exec`. */
  readonly clientNetns: string;
  readonly order: AcmeOrder;
  readonly corefileBefore: string;
  /** The A records the client Pod gets for host, through its own resolver (the kube-dns Service). */
  resolve(host: string): Promise<string[]>;
  /** Puts the key authorization where "ingress-nginx" serves the solver path. */
  present(token: string, keyAuthorization: string): Promise<void>;
  /** The ClusterIP of a Service. */
  clusterIp(namespace: string, name: string): Promise<string>;
  readCorefile(): Promise<string>;
}

export async function setUpNodeScenario(tmpDir: string): Promise<NodeScenario> {
  const scratch = join(tmpDir, 'images');
  const tools = await dataplaneTools();
  const dataplaneapi = tools.ok ? tools.dataplaneapi : undefined;
  const images = {} as Record<NodeImageName, string>;
  const archives: string[] = [];
  for (const name of ['busybox', 'coredns', 'nginx', 'haproxy', 'controller'] as const) {
    const built = await buildNodeImage(name, scratch, dataplaneapi ? { dataplaneapi } : {});
    images[name] = built.ref;
    archives.push(built.archive);
  }

  const outside = await startOutside(tmpDir);
  const resolvConf = join(tmpDir, 'node-resolv.conf');
  writeFileSync(resolvConf, NODE_RESOLV_CONF);
  const [sandboxArchive = '', ...others] = archives;
  const node = await startNodeCluster({ tmpDir, resolvConf, sandbox: { ref: images.busybox, archive: sandboxArchive } });
  for (const archive of others) await node.importImage(archive);
  const { plane } = node;

  const certificate = await selfSignedCertificate(tmpDir, 'ingress-fake-certificate', [`DNS:${TEST_HOST}`]);
  await plane.apply([...corednsObjects(images.coredns), ...ingressNginxObjects(images.nginx, TEST_HOST, certificate), ...clientObjects(images.busybox)]);
  await plane.apply(appIngress('shop', TEST_HOST));
  for (const [namespace, deployment] of [['kube-system', 'coredns'], [INGRESS_NAMESPACE, INGRESS_SERVICE]] as const) {
    await plane.kubectl(['-n', namespace, 'rollout', 'status', `deployment/${deployment}`, '--timeout=120s'], { timeoutMs: 130_000 });
  }
  await plane.kubectl(['-n', CLIENT_NAMESPACE, 'wait', '--for=condition=Ready', `pod/${CLIENT_POD}`, '--timeout=60s'], { timeoutMs: 70_000 });

  // No cloud controller here: the test plays it, giving the Service its load balancer's address.
  await setLoadBalancerStatus(plane, {});
  const service = await plane.getJson<{ spec: { ports: Array<{ name: string; nodePort: number }> } }>(['service', '-n', INGRESS_NAMESPACE, INGRESS_SERVICE]);
  const nodePort = (name: string) => service.spec.ports.find((p) => p.name === name)?.nodePort ?? 0;
  await outside.startLoadBalancer({ http: nodePort('http'), https: nodePort('https') }, tmpDir);
  await outside.publish(TEST_HOST);
  const order = await AcmeOrder.create(outside.directoryUrl, outside.pebble.tlsCertificatePem, TEST_HOST);

  const clientNetns = await node.podNetns(CLIENT_NAMESPACE, CLIENT_POD);
  const readCorefile = async () => (await plane.getJson<{ data: { Corefile: string } }>(['configmap', '-n', 'kube-system', 'coredns'])).data.Corefile;
  const scenario: NodeScenario = {
    node,
    plane,
    outside,
    images,
    dataplaneapi: dataplaneapi !== undefined,
    clientNetns,
    order,
    corefileBefore: await readCorefile(),
    async resolve(host) {
      const { stdout } = await run('dig', ['+short', '+time=2', '+tries=1', `${host}.`, 'A'], { netns: clientNetns, timeoutMs: 10_000 });
      return stdout.split('\n').filter((line) => /^\d+\.\d+\.\d+\.\d+$/.test(line));
    },
    async present(token, keyAuthorization) {
      if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error(`not an ACME token: ${JSON.stringify(token)}`);
      const dir = '/work/www/.well-known/acme-challenge';
      await plane.kubectl(['-n', INGRESS_NAMESPACE, 'exec', '-i', `deployment/${INGRESS_SERVICE}`, '--', 'sh', '-c', `mkdir -p ${dir} && cat > ${dir}/${token}`], { input: keyAuthorization });
    },
    async clusterIp(namespace, name) {
      return (await plane.getJson<{ spec: { clusterIP: string } }>(['service', '-n', namespace, name])).spec.clusterIP;
    },
    readCorefile,
  };
  await scenario.present(order.token, order.keyAuthorization);
  // The public path works before anything else: the internet reaches the app through the load balancer.
  await waitFor(() => scenario.resolve(TEST_HOST).then((ips) => ips.includes(OUTSIDE.loadBalancer)), { timeoutMs: 30_000, what: `${TEST_HOST} to resolve to the load balancer in the client Pod` });
  return scenario;
}

export const HAIRPIN_NAMESPACE = 'hairpin-proxy';
export const HAIRPIN_SERVICE = 'hairpin-proxy-haproxy';

/**
 * Installs hairpin-proxy the way the README says, in one step, from deploy/ with only the images
 * replaced (or the static-haproxy overlay where the Data Plane API cannot be had), and waits for
 * every Deployment to roll out. Returns the overlay (to delete it whole) and the hairpin Service's ClusterIP.
 */
export async function installHairpin(scenario: NodeScenario, overlayDir: string): Promise<{ overlay: string; hairpinIp: string }> {
  const { plane } = scenario;
  const staticHaproxy = scenario.dataplaneapi ? undefined : { ingressClusterIp: await scenario.clusterIp(INGRESS_NAMESPACE, INGRESS_SERVICE) };
  const overlay = writeOverlay(overlayDir, { controller: scenario.images.controller, haproxy: scenario.images.haproxy }, staticHaproxy);
  await plane.kubectl(['apply', '-k', overlay]);
  for (const deployment of ['hairpin-proxy', 'hairpin-haproxy']) {
    await plane.kubectl(['-n', HAIRPIN_NAMESPACE, 'rollout', 'status', `deployment/${deployment}`, '--timeout=180s'], { timeoutMs: 190_000 });
  }
  return { overlay, hairpinIp: await scenario.clusterIp(HAIRPIN_NAMESPACE, HAIRPIN_SERVICE) };
}

/** The LoadBalancer Service's status, as a cloud controller writes it; ipMode Proxy per KEP-1860. */
export async function setLoadBalancerStatus(plane: ControlPlane, options: { ipMode?: 'Proxy' | 'VIP' }): Promise<void> {
  const ingress = [{ ip: OUTSIDE.loadBalancer, ...(options.ipMode ? { ipMode: options.ipMode } : {}) }];
  await plane.kubectl(['-n', INGRESS_NAMESPACE, 'patch', 'service', INGRESS_SERVICE, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { loadBalancer: { ingress } } })]);
}

/** kube-proxy's rules for the load balancer's IP: the short-circuit this project exists for. */
export async function loadBalancerRules(): Promise<string[]> {
  const rules = await runOk('iptables', ['-w', '5', '-t', 'nat', '-S', 'KUBE-SERVICES']);
  return rules.split('\n').filter((rule) => rule.includes(`-d ${OUTSIDE.loadBalancer}/32`));
}

