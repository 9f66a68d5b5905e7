/**
 * The whole hairpin story with real processes, told in three steps:
 *  1. without hairpin-proxy: the challenge URL works from the internet, fails from inside the
 *     cluster (kube-proxy's short-circuit skips the PROXY header), cert-manager's self-check fails
 *     and no certificate is issued;
 *  2. with the controller: the Corefile gains our block, the controller configures the hairpin
 *     HAProxy (empty until then) through its Data Plane API, the host resolves to the hairpin
 *     Service, the self-check passes, pebble validates through the load balancer, a certificate
 *     is issued;
 *  3. `hairpin-proxy uninstall` restores the Corefile byte for byte, and everything is torn down.
 * The demo (demo.ts) and the integration test (e2e/local/story.int.test.ts) both run this.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  blockMentions,
  cleanupAll,
  CONTROLLER_NAMESPACE,
  freePorts,
  HAIRPIN_CLUSTER_IP,
  makeTmpDir,
  markerBlock,
  readCorefile,
  registeredProcesses,
  REPO_ROOT,
  seedCluster,
  startControlPlane,
  startController,
  startCoreDns,
  waitFor,
  type ControlPlane,
  type ControllerProcess,
} from '../harness/index.js';
import { AcmeOrder, addPublicARecord, PEBBLE_PORTS, startPebble, type Pebble } from './acme.js';
import { applyClusterObjects, setUpstreamResolver } from './cluster-objects.js';
import { startHairpinHaproxy, type HairpinHaproxy } from './hairpin-haproxy.js';
import { awaitHairpinConfigured, controllerFlags, introduceHairpin, type HairpinOutcome } from './hairpin-steps.js';
import { describeHttp, httpGet } from './http-get.js';
import { startIngressNginx, type IngressNginx } from './ingress-nginx.js';
import { startLoadBalancer } from './load-balancer.js';
import { startRelay, type Wire } from './relay.js';
import { runOk } from './run.js';
import { CERT_MANAGER_SELF_CHECK, challengeUrl, runSelfCheck, type SelfCheckRequest, type SelfCheckResult } from './self-check.js';
import { StoryError } from './story-error.js';
import { addKubeProxyRules, addLocalAddress, ADDRESSES, createTopology, writePodResolvConf, type Topology } from './topology.js';
import { hairpinClusterIp, hairpinForwards, loadBalancerForwards, storyUpstream, type StorySource, type StoryUpstream } from './upstream.js';

export const TEST_HOST = 'shop.example.test';

export interface StoryOptions {
  /** What asks for the host: an Ingress (ingress-nginx, PROXY v1) or an HTTPRoute (a Gateway API implementation, PROXY v2). */
  readonly source: StorySource;
  /** One plain-words line per step; the caller adds the timing. */
  readonly say: (line: string) => void;
  /** Between the self-check's consecutive passes (cert-manager: 2 s). */
  readonly passIntervalMs: number;
  /** Between failed self-checks (cert-manager: ~10 s). */
  readonly retryIntervalMs: number;
  /** How long cert-manager keeps trying without hairpin-proxy before the story calls it failed. */
  readonly withoutControllerGiveUpMs: number;
  /** Bound on each wait after the controller starts (Corefile, DNS, self-check). */
  readonly withControllerTimeoutMs: number;
}

export interface StoryResult {
  readonly source: StorySource;
  readonly without_controller: {
    readonly external_request: string;
    readonly in_cluster_dns: string;
    readonly in_cluster_request: string;
    readonly self_check: 'passed' | 'failed';
    readonly self_check_requests: number;
    readonly self_check_error: string | undefined;
    readonly certificate: 'issued' | 'not issued';
    readonly order_status: string;
    readonly seconds: number;
  };
  readonly with_controller: HairpinOutcome & {
    readonly corefile_rule: string;
    readonly seconds_to_corefile: number;
    readonly in_cluster_dns: string;
    readonly seconds_to_dns: number;
    readonly in_cluster_request: string;
    readonly self_check: 'passed' | 'failed';
    readonly self_check_passes: number;
    readonly certificate: 'issued' | 'not issued';
    readonly certificate_names: string;
    readonly certificate_issuer: string;
    readonly certificate_chain_verified: boolean;
    readonly seconds_to_certificate: number;
  };
  readonly cleanup: {
    readonly corefile_restored: boolean;
    /** Per-upstream hairpin Services (--target) still there after `hairpin-proxy uninstall`. */
    readonly hairpin_services_left: number;
    readonly dns_answers_load_balancer_again: boolean;
    readonly namespaces_left: number;
    readonly processes_left: number;
  };
  readonly total_seconds: number;
}

interface Stage {
  readonly upstream: StoryUpstream;
  readonly plane: ControlPlane;
  readonly topology: Topology;
  readonly nginx: IngressNginx;
  readonly hairpin: HairpinHaproxy;
  readonly pebble: Pebble;
  /** The Corefile before hairpin-proxy, as the ConfigMap holds it. */
  readonly corefileBefore: string;
  readonly urls: { readonly acmeDirectory: string; readonly pebbleRoots: string };
  readonly tmpDir: string;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export async function runStory(options: StoryOptions): Promise<StoryResult> {
  const { say } = options;
  const started = Date.now();
  const stage = await setUp(storyUpstream(options.source), say);
  const withoutController = await withoutHairpinProxy(stage, options);
  const withController = await withHairpinProxy(stage, withoutController.order, options);
  const cleanup = await uninstallAndTearDown(stage, withController.controller, say);
  return {
    source: options.source,
    without_controller: withoutController.result,
    with_controller: withController.result,
    cleanup,
    total_seconds: seconds(Date.now() - started),
  };
}

async function setUp(upstream: StoryUpstream, say: StoryOptions['say']): Promise<Stage> {
  const tmpDir = makeTmpDir('story');
  say(`The host ${TEST_HOST} comes from ${upstream.described}`);
  say('Setting up: kube-apiserver + etcd, network namespaces (node, hairpin, pod, internet), CoreDNS, the upstream (nginx with proxy_protocol), load balancer, hairpin HAProxy, pebble');
  const [relayPorts, topology] = await Promise.all([freePorts(4), createTopology()]);
  const [acmePort, acmeManagementPort, dnsManagementPort, publicDnsPort] = relayPorts as [number, number, number, number];

  // The control plane starts while the network and its servers come up.
  const cluster = (async () => {
    const plane = await startControlPlane({ tmpDir });
    await seedCluster(plane);
    const corefileBefore = await setUpstreamResolver(plane, `127.0.0.1:${publicDnsPort}`);
    await applyClusterObjects(plane, { host: TEST_HOST, source: upstream.source, service: upstream.service, loadBalancerIp: ADDRESSES.loadBalancer, ingressControllerPodIp: ADDRESSES.ingressNginxPod });
    return { plane, corefileBefore, dns: await startCoreDns({ controlPlane: plane, tmpDir }) };
  })();
  const servers = (async () => {
    writePodResolvConf(topology.pod);
    await addLocalAddress(topology.pod, ADDRESSES.kubeDns);
    await addKubeProxyRules(topology.pod, [...loadBalancerForwards(upstream, ADDRESSES.loadBalancer, ADDRESSES.ingressNginxPod), ...(upstream.source === 'ingress' ? hairpinForwards(upstream, HAIRPIN_CLUSTER_IP) : [])]);
    const nginx = await startIngressNginx({ netns: topology.node, tmpDir, address: ADDRESSES.ingressNginxPod, host: TEST_HOST });
    const backend = { address: nginx.address, httpPort: nginx.httpPort, httpsPort: nginx.httpsPort };
    await startLoadBalancer({ netns: topology.internet, tmpDir, address: ADDRESSES.loadBalancer, backend, proxyProtocol: upstream.proxyProtocol });
    const hairpin = await startHairpinHaproxy({ netns: topology.hairpin, tmpDir, address: ADDRESSES.hairpinPod, ingressController: backend, upstream });
    const pebble = await startPebble({ netns: topology.internet, tmpDir, address: ADDRESSES.acme, httpValidationPort: 80 });
    return { nginx, hairpin, pebble };
  })();
  const [{ plane, corefileBefore, dns }, { nginx, hairpin, pebble }] = await bothSettled(cluster, servers);

  const internet = (port: number) => ({ netns: topology.internet.name, address: ADDRESSES.acme, port });
  const loopback = (port: number) => ({ address: '127.0.0.1', port });
  const wires: Wire[] = [
    { name: 'kube-dns', listen: { netns: topology.pod.name, address: ADDRESSES.kubeDns, port: 53 }, target: loopback(dns.port) },
    { name: 'public-dns', listen: loopback(publicDnsPort), target: internet(PEBBLE_PORTS.dns) },
    { name: 'acme', listen: loopback(acmePort), target: internet(PEBBLE_PORTS.acme) },
    { name: 'acme-management', listen: loopback(acmeManagementPort), target: internet(PEBBLE_PORTS.management) },
    { name: 'dns-management', listen: loopback(dnsManagementPort), target: internet(PEBBLE_PORTS.dnsManagement) },
  ];
  await startRelay(tmpDir, wires);
  await addPublicARecord(`http://127.0.0.1:${dnsManagementPort}`, TEST_HOST, ADDRESSES.loadBalancer);
  say(`Public DNS: ${TEST_HOST} -> ${ADDRESSES.loadBalancer} (the load balancer, which adds a PROXY ${upstream.proxyProtocol} header and forwards to the upstream ${ADDRESSES.ingressNginxPod})`);
  say(
    `kube-proxy in the pod namespace: ${ADDRESSES.loadBalancer} -> ${ADDRESSES.ingressNginxPod} directly (LoadBalancer ipMode VIP: the short-circuit)` +
      (upstream.source === 'ingress' ? `, ${HAIRPIN_CLUSTER_IP} -> ${ADDRESSES.hairpinPod} (hairpin Service)` : '; the hairpin Service of this upstream does not exist yet: the controller creates it'),
  );
  await introduceHairpin(hairpin, say);
  return {
    upstream,
    plane,
    topology,
    nginx,
    hairpin,
    pebble,
    corefileBefore,
    urls: { acmeDirectory: `https://127.0.0.1:${acmePort}/dir`, pebbleRoots: `https://127.0.0.1:${acmeManagementPort}/roots/0` },
    tmpDir,
  };
}

/** Like Promise.all, but a failure is reported only once the other side has stopped starting things. */
async function bothSettled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/** What the pod's resolver answers for the test host (dig in the pod namespace, its resolv.conf). */
async function podResolves(stage: Stage): Promise<string> {
  const out = await runOk('dig', ['+tcp', '+short', '+tries=1', '+time=3', TEST_HOST, 'A'], { netns: stage.topology.pod.name, timeoutMs: 10_000 });
  return out.split('\n').filter((line) => /^\d+\.\d+\.\d+\.\d+$/.test(line)).join(',') || '(no address)';
}

/** The internet's view: public DNS, then a GET through the load balancer. */
async function externalGet(stage: Stage, url: string): Promise<{ address: string; outcome: string; body: string }> {
  const dig = await runOk('dig', ['+tcp', '+short', `@${ADDRESSES.acme}`, '-p', String(PEBBLE_PORTS.dns), TEST_HOST, 'A'], { netns: stage.topology.internet.name });
  const address = dig.trim().split('\n').at(-1) ?? '';
  const http = await httpGet(url, { netns: stage.topology.internet.name, connectTo: address, timeoutMs: 10_000 });
  return { address, outcome: describeHttp(http), body: http.body };
}

function narrateRequest(say: StoryOptions['say'], request: SelfCheckRequest): void {
  say(`   self-check GET at +${seconds(request.atMs)}s: ${request.error ?? `passed (${request.passes} in a row)`}`);
}

async function withoutHairpinProxy(stage: Stage, options: StoryOptions) {
  const { say } = options;
  const phaseStarted = Date.now();
  say(`1. Without hairpin-proxy: cert-manager orders a certificate for ${TEST_HOST} from pebble (ACME, HTTP-01)`);
  const order = await AcmeOrder.create(stage.urls.acmeDirectory, stage.pebble.tlsCertificatePem, TEST_HOST);
  stage.nginx.present(order.token, order.keyAuthorization);
  const url = challengeUrl(TEST_HOST, order.token);
  say(`1. The solver serves the key authorization at ${url}`);

  const external = await externalGet(stage, url);
  const externalOk = external.body === order.keyAuthorization;
  say(`1. From the internet (public DNS -> ${external.address}, through the load balancer): ${external.outcome}${externalOk ? ', the key authorization' : `, unexpected body ${JSON.stringify(external.body.slice(0, 80))}`}`);
  if (!externalOk) throw new StoryError('external request', `expected the key authorization through the load balancer, got ${external.outcome}`);

  const dns = await podResolves(stage);
  const inCluster = describeHttp(await httpGet(url, { netns: stage.topology.pod.name, timeoutMs: 10_000 }));
  say(`1. From the cert-manager pod: ${TEST_HOST} resolves to ${dns}; GET -> ${inCluster} (kube-proxy sent it straight to nginx, without the PROXY header)`);
  // nginx dumps the whole bare request after "broken header:"; its first line says enough.
  const refusal = stage.nginx.lastLogLine(/broken header:/)?.replace(/^.*?broken header:/, 'broken header:').trimEnd();
  if (refusal) say(`1. ${stage.upstream.server} logged: [error] ${refusal}…" (a request where the PROXY line must be)`);

  say(
    `1. cert-manager's self-check from the pod (${CERT_MANAGER_SELF_CHECK.requiredPasses} passes in a row needed, ${options.passIntervalMs} ms apart` +
      `${options.passIntervalMs === 2_000 ? '' : ' in this demo instead of 2 s'}; retried every ${seconds(options.retryIntervalMs)} s; given up after ${seconds(options.withoutControllerGiveUpMs)} s here):`,
  );
  const check = await runSelfCheck({
    netns: stage.topology.pod.name,
    host: TEST_HOST,
    token: order.token,
    keyAuthorization: order.keyAuthorization,
    giveUpAfterMs: options.withoutControllerGiveUpMs,
    passIntervalMs: options.passIntervalMs,
    retryIntervalMs: options.retryIntervalMs,
    onRequest: (request) => narrateRequest(say, request),
  });
  if (check.passed) {
    throw new StoryError('negative control', 'the self-check passed without hairpin-proxy: the short-circuit is not reproduced');
  }
  // cert-manager never asks the CA to validate a challenge whose self-check fails.
  const orderStatus = await order.status();
  say(`1. Self-check FAILED ${check.requests.length} times: the Challenge stays "Waiting for HTTP-01 challenge propagation"; order ${orderStatus}, no certificate`);
  return {
    order,
    result: {
      external_request: `${external.outcome} via load balancer ${external.address}`,
      in_cluster_dns: dns,
      in_cluster_request: inCluster,
      self_check: 'failed' as const,
      self_check_requests: check.requests.length,
      self_check_error: check.lastError,
      certificate: orderStatus === 'valid' ? ('issued' as const) : ('not issued' as const),
      order_status: orderStatus,
      seconds: seconds(Date.now() - phaseStarted),
    },
  };
}

async function withHairpinProxy(stage: Stage, order: AcmeOrder, options: StoryOptions): Promise<{ controller: ControllerProcess; result: StoryResult['with_controller'] }> {
  const { say } = options;
  const timeoutMs = options.withControllerTimeoutMs;
  const started = Date.now();
  const { upstream } = stage;
  const flags = controllerFlags(stage.hairpin, upstream);
  say(`2. Starting hairpin-proxy (the controller, as its own service account): ${flags.shown}`);
  const controller = await startController({
    controlPlane: stage.plane,
    tmpDir: stage.tmpDir,
    // Explicit Data Plane API URLs (or none: --no-manage-haproxy): discovery would send the
    // controller to the hairpin pod's address, which the root namespace cannot reach.
    dataplaneUrls: flags.dataplaneUrls,
    args: flags.args,
  });
  const hairpinIp = await waitFor(() => hairpinClusterIp(stage.plane, upstream), { timeoutMs, intervalMs: 100, what: `the hairpin Service ${upstream.hairpin.service}` });
  if (upstream.source !== 'ingress') {
    // kube-proxy, played: a new Service's ClusterIP goes to its endpoints as soon as it exists.
    await addKubeProxyRules(stage.topology.pod, hairpinForwards(upstream, hairpinIp));
    const ports = upstream.hairpin.ports.map((p) => `:${p.port} -> ${ADDRESSES.hairpinPod}:${p.listenPort}`).join(', ');
    say(`2. The controller created the hairpin Service ${upstream.hairpin.service} (ClusterIP ${hairpinIp}) for this upstream; kube-proxy in the pod: ${ports}`);
  }

  const block = await waitFor(
    async () => {
      const found = markerBlock(await readCorefile(stage.plane));
      return blockMentions(found, TEST_HOST) ? found : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `the Corefile to route ${TEST_HOST}` },
  );
  const secondsToCorefile = seconds(Date.now() - started);
  const rule = block.split('\n').find((line) => /^\s*rewrite\b/.test(line))?.trim() ?? '';
  say(`2. The Corefile changed after ${secondsToCorefile}s: ${rule}`);

  const haproxy = await awaitHairpinConfigured(stage.hairpin, {
    ingressAddress: stage.nginx.address,
    upstream,
    controllerStartedAt: started,
    timeoutMs,
    say,
  });

  const dns = await waitFor(async () => ((await podResolves(stage)) === hairpinIp ? hairpinIp : undefined), {
    timeoutMs,
    intervalMs: 200,
    what: `the pod's resolver to answer ${TEST_HOST} with ${hairpinIp}`,
  });
  const secondsToDns = seconds(Date.now() - started);
  say(`2. After ${secondsToDns}s CoreDNS answers ${TEST_HOST} -> ${dns} (the hairpin Service) in the pod`);

  const url = challengeUrl(TEST_HOST, order.token);
  const inCluster = describeHttp(await httpGet(url, { netns: stage.topology.pod.name, timeoutMs: 10_000 }));
  say(`2. From the cert-manager pod: GET -> ${inCluster} (through the hairpin HAProxy, which adds a PROXY ${upstream.proxyProtocol} header)`);
  const accepted = stage.nginx.lastLogLine(/^client=/);
  if (accepted) say(`2. ${upstream.server} logged: ${accepted} (client: the pod's own address, from the PROXY header)`);

  say(`2. cert-manager's self-check again:`);
  const check: SelfCheckResult = await runSelfCheck({
    netns: stage.topology.pod.name,
    host: TEST_HOST,
    token: order.token,
    keyAuthorization: order.keyAuthorization,
    giveUpAfterMs: timeoutMs,
    passIntervalMs: options.passIntervalMs,
    retryIntervalMs: options.retryIntervalMs,
    onRequest: (request) => narrateRequest(say, request),
  });
  if (!check.passed) throw new StoryError('self-check with hairpin-proxy', check.lastError ?? 'did not pass');
  say(`2. Self-check PASSED; cert-manager asks pebble to validate, which it does from the internet through the load balancer`);

  await order.validate();
  const certificate = await order.certificate(stage.urls.pebbleRoots);
  const secondsToCertificate = seconds(Date.now() - started);
  say(
    `2. Certificate ISSUED ${secondsToCertificate}s after the controller started: ${certificate.subjectAltNames}, issuer "${certificate.issuer}", ` +
      `valid to ${certificate.validTo}, chain ${certificate.chainVerified ? 'verified up to pebble\'s root' : 'NOT verified'}`,
  );
  const result = {
    corefile_rule: rule,
    seconds_to_corefile: secondsToCorefile,
    ...haproxy,
    in_cluster_dns: dns,
    seconds_to_dns: secondsToDns,
    in_cluster_request: inCluster,
    self_check: 'passed',
    self_check_passes: check.requests.filter((r) => r.error === undefined).length,
    certificate: 'issued',
    certificate_names: certificate.subjectAltNames,
    certificate_issuer: certificate.issuer,
    certificate_chain_verified: certificate.chainVerified,
    seconds_to_certificate: secondsToCertificate,
  } as const;
  return { controller, result };
}

const execFileAsync = promisify(execFile);

/** The namespaces this process created (the harness names them hp-<pid>-…). */
async function ourNamespaces(): Promise<string[]> {
  const listed = await runOk('ip', ['netns', 'list']);
  return listed.split('\n').filter((line) => line.startsWith(`hp-${process.pid}-`));
}

async function uninstallAndTearDown(stage: Stage, controller: ControllerProcess, say: StoryOptions['say']): Promise<StoryResult['cleanup']> {
  say('3. Cleanup: stopping the controller, then `hairpin-proxy uninstall`');
  await controller.stop();
  await execFileAsync(process.execPath, [join(REPO_ROOT, 'dist/cli.js'), 'uninstall', '--kubeconfig', stage.plane.controllerKubeconfigPath], {
    cwd: REPO_ROOT,
    timeout: 30_000,
  });
  const corefileRestored = (await readCorefile(stage.plane)) === stage.corefileBefore;
  say(`3. The Corefile is ${corefileRestored ? 'byte for byte what it was before hairpin-proxy' : 'NOT what it was before'}`);
  const managed = await stage.plane.getJson<{ items: unknown[] }>(['services', '-n', CONTROLLER_NAMESPACE, '-l', 'app.kubernetes.io/managed-by=hairpin-proxy']);
  if (stage.upstream.source !== 'ingress') say(`3. Hairpin Services the controller created that are left: ${managed.items.length}`);
  const dnsAgain = await waitFor(async () => ((await podResolves(stage)) === ADDRESSES.loadBalancer ? true : undefined), {
    timeoutMs: 15_000,
    intervalMs: 200,
    what: `the pod's resolver to answer ${TEST_HOST} with ${ADDRESSES.loadBalancer} again`,
  }).catch(() => false);
  say(`3. The pod resolves ${TEST_HOST} to ${dnsAgain ? `the load balancer ${ADDRESSES.loadBalancer} again` : 'something else than the load balancer'}`);

  const processes = [...registeredProcesses()];
  const namespaces = await ourNamespaces();
  await cleanupAll();
  const namespacesLeft = (await ourNamespaces()).length;
  const processesLeft = processes.filter((p) => p.running).length;
  say(`3. Torn down: ${processes.length} processes stopped, ${namespaces.length} network namespaces deleted; left: ${processesLeft} processes, ${namespacesLeft} namespaces`);
  return { corefile_restored: corefileRestored, hairpin_services_left: managed.items.length, dns_answers_load_balancer_again: dnsAgain, namespaces_left: namespacesLeft, processes_left: processesLeft };
}
