/**
 * The hairpin story on a real Kubernetes node (e2e/node): a real kubelet, kube-proxy in iptables
 * mode, containerd, CoreDNS as a Deployment reading its ConfigMap through a volume with the default
 * `reload`, and hairpin-proxy installed from deploy/ with only its images replaced, into a
 * namespace that enforces Pod Security "restricted".
 *
 *  1. Without hairpin-proxy the real kube-proxy short-circuits the load balancer's IP to nginx:
 *     the client Pod gets an empty reply and cert-manager's self-check fails.
 *  2. Installed in one step (the controller creates the Data Plane API password), every Pod becomes Ready, the controller configures HAProxy, the Pod's GET and the
 *     self-check pass, and pebble issues the certificate.
 *  3. The wait from an Ingress's creation to CoreDNS answering with the hairpin address is printed
 *     (bench/node-dns.ts measures it; nothing here asserts a time).
 *  4. Deleting the leader Pod hands the Lease to the standby, which keeps the Corefile in sync.
 *  4b. deploy/node's hosts-file DaemonSet puts the host into the node's /etc/hosts (the node here
 *     is this machine: its file is backed up and restored whatever happens), so a client on the
 *     node itself resolves it to the hairpin Service; deleting the DaemonSet restores the file.
 *  5. A rollout restart keeps the block; `kubectl delete` of the whole install (its ServiceAccount
 *     and RBAC in the same breath) leaves the Corefile byte for byte as it was, and nothing behind;
 *     so does `helm uninstall` of the chart, installed in one step.
 *  6. KEP-1860: with ipMode Proxy, kube-proxy drops its rule and the Pod reaches nginx through the
 *     load balancer without any hairpin.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blockMentions, canUseNetns, cleanupAll, dataplaneTools, makeTmpDir, markerBlock, registerCleanup, REPO_ROOT, waitFor, withLogs } from '../harness/index.js';
import { runOk } from '../story/run.js';
import { describeHttp, httpGet } from '../story/http-get.js';
import { challengeUrl, runSelfCheck } from '../story/self-check.js';
import { nodeSkipReason } from './cluster.js';
import { OUTSIDE } from './outside.js';
import { HAIRPIN_NAMESPACE, installHairpin, loadBalancerRules, setLoadBalancerStatus, setUpNodeScenario, TEST_HOST, type NodeScenario } from './scenario.js';
import { APP_NAMESPACE, appIngress, writeNodeOverlay } from './workloads.js';

/** The node of this story is this machine: its own /etc/hosts is the node's. */
const NODE_HOSTS = '/etc/hosts';

const skipReason = (await nodeSkipReason()) ?? ((await canUseNetns()).ok ? undefined : (await canUseNetns()).reason);
if (skipReason) console.warn(`real-node story skipped: ${skipReason}`);
const dataplane = await dataplaneTools();
const INSTALL = dataplane.ok
  ? 'installed from deploy/ (images replaced)'
  : `installed from deploy/ with the static-haproxy overlay (no Data Plane API here: ${dataplane.reason})`;

/** kubelet ConfigMap refresh (~1 min) plus CoreDNS's reload (30 s + up to 15 s) plus margin. */
const DNS_WAIT_MS = 4 * 60_000;

let scenario: NodeScenario;
let hairpinIp: string;
let overlay: string;

const get = (path = '/', connectTo?: string) =>
  httpGet(`http://${TEST_HOST}${path}`, { netns: scenario.clientNetns, timeoutMs: 5_000, ...(connectTo ? { connectTo } : {}) });
const challengePath = () => new URL(challengeUrl(TEST_HOST, scenario.order.token)).pathname;
const selfCheck = (giveUpAfterMs: number) =>
  runSelfCheck({ netns: scenario.clientNetns, host: TEST_HOST, token: scenario.order.token, keyAuthorization: scenario.order.keyAuthorization, giveUpAfterMs });
const kubectl = (args: readonly string[], timeoutMs = 60_000) => scenario.plane.kubectl(args, { timeoutMs });
const leaseHolder = async () =>
  (await scenario.plane.getJson<{ spec?: { holderIdentity?: string } }>(['lease', '-n', HAIRPIN_NAMESPACE, 'hairpin-proxy'])).spec?.holderIdentity ?? '';

(skipReason ? describe.skip : describe)('the hairpin story on a real node (kubelet, kube-proxy, containerd)', () => {
  beforeAll(withLogs(async () => {
    scenario = await setUpNodeScenario(makeTmpDir('node-story'));
  }), 15 * 60_000);

  afterAll(() => cleanupAll(), 120_000);

  it('without hairpin-proxy: the real kube-proxy short-circuits the load balancer IP, the Pod gets an empty reply, the self-check fails', withLogs(async () => {
    expect(await scenario.resolve(TEST_HOST)).toEqual([OUTSIDE.loadBalancer]);
    expect(await loadBalancerRules()).not.toEqual([]);
    const fromPod = await get(challengePath());
    expect(describeHttp(fromPod)).toBe('empty reply (curl 52)');
    const check = await selfCheck(12_000);
    expect(check.passed).toBe(false);
    expect(check.lastError).toMatch(/EOF/);
    expect(await scenario.order.status()).toBe('pending');
  }), 60_000);

  it(`${INSTALL}: every Pod Ready under Pod Security "restricted" (HAProxy only once it serves), the self-check passes, a certificate is issued`, withLogs(async () => {
    expect(readFileSync(join(REPO_ROOT, 'deploy', 'base', 'namespace.yaml'), 'utf8')).toContain('pod-security.kubernetes.io/enforce: restricted');
    const applied = Date.now();
    ({ overlay, hairpinIp } = await installHairpin(scenario, join(makeTmpDir('node-overlay'), 'overlay')));
    // One step: the controller created the Data Plane API password the HAProxy pods waited for.
    const secret = await scenario.plane.getJson<{ data: { password: string }; metadata: { labels: Record<string, string> } }>(['secret', '-n', HAIRPIN_NAMESPACE, 'hairpin-proxy-dataplane']);
    expect(Buffer.from(secret.data.password, 'base64').toString()).toMatch(/^[0-9a-f]{48}$/);
    expect(secret.metadata.labels['app.kubernetes.io/managed-by']).toBe('hairpin-proxy');
    const namespace = await scenario.plane.getJson<{ metadata: { labels: Record<string, string> } }>(['namespace', HAIRPIN_NAMESPACE]);
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const pods = await scenario.plane.getJson<{ items: Array<{ metadata: { name: string }; status: { conditions?: Array<{ type: string; status: string }> } }> }>(['pods', '-n', HAIRPIN_NAMESPACE]);
    expect(pods.items).toHaveLength(4);
    for (const pod of pods.items) expect(pod.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

    await waitFor(async () => blockMentions(markerBlock(await scenario.readCorefile()), TEST_HOST), { timeoutMs: 60_000, what: 'the Corefile to route the test host' });
    await waitFor(async () => (await scenario.resolve(TEST_HOST)).includes(hairpinIp), { timeoutMs: DNS_WAIT_MS, intervalMs: 1_000, what: `CoreDNS to answer ${TEST_HOST} with the hairpin Service ${hairpinIp}` });
    console.log(`node story: DNS answered the hairpin address ${Math.round((Date.now() - applied) / 1000)} s after deploy/ was applied`);

    const fromPod = await get('/');
    expect(describeHttp(fromPod)).toBe('HTTP 200');
    const check = await selfCheck(60_000);
    expect(check.lastError).toBeUndefined();
    expect(check.passed).toBe(true);
    await scenario.order.validate();
    const certificate = await scenario.order.certificate(scenario.outside.rootsUrl);
    expect(certificate.subjectAltNames).toBe(`DNS:${TEST_HOST}`);
    expect(certificate.chainVerified).toBe(true);
  }), 10 * 60_000);

  it('an Ingress created now is answered by CoreDNS with the hairpin address (the wait is printed, not asserted)', withLogs(async () => {
    const host = 'blog.example.test';
    const created = Date.now();
    await scenario.plane.apply(appIngress('blog', host));
    await waitFor(async () => blockMentions(markerBlock(await scenario.readCorefile()), host), { timeoutMs: 30_000, intervalMs: 100, what: `the Corefile to route ${host}` });
    const written = Date.now();
    await waitFor(async () => (await scenario.resolve(host)).includes(hairpinIp), { timeoutMs: DNS_WAIT_MS, intervalMs: 250, what: `CoreDNS to answer ${host}` });
    console.log(`node story: Ingress created → ConfigMap written ${written - created} ms → CoreDNS answering ${Date.now() - created} ms`);
  }), DNS_WAIT_MS + 60_000);

  it('deleting the leader Pod hands the Lease to the standby, which keeps the Corefile in sync', withLogs(async () => {
    const leader = await leaseHolder();
    expect(leader).toMatch(/^hairpin-proxy-/);
    await kubectl(['-n', HAIRPIN_NAMESPACE, 'delete', 'pod', leader, '--wait=false']);
    const successor = await waitFor(async () => {
      const holder = await leaseHolder();
      return holder !== '' && holder !== leader ? holder : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500, what: 'another controller Pod to hold the Lease' });
    expect(successor).toMatch(/^hairpin-proxy-/);
    await scenario.plane.apply(appIngress('failover', 'failover.example.test'));
    await waitFor(async () => blockMentions(markerBlock(await scenario.readCorefile()), 'failover.example.test'), { timeoutMs: 60_000, what: 'the new leader to route failover.example.test' });
  }), 120_000);

  it('deploy/node: the hosts-file DaemonSet maps the host to the hairpin Service in the node\'s /etc/hosts, and deleting it restores the file byte for byte', withLogs(async () => {
    const before = readFileSync(NODE_HOSTS);
    // Whatever happens below, the machine's file ends as it began (in place: it may be a bind mount).
    registerCleanup('restore the node\'s /etc/hosts', () => {
      if (!readFileSync(NODE_HOSTS).equals(before)) writeFileSync(NODE_HOSTS, before);
    });
    const overlay = writeNodeOverlay(join(makeTmpDir('node-hosts-overlay'), 'overlay'), scenario.images.controller);
    await kubectl(['apply', '-f', join(REPO_ROOT, 'deploy', 'node', 'namespace.yaml')]);
    await kubectl(['apply', '-k', overlay]);
    await kubectl(['-n', 'hairpin-proxy-node', 'rollout', 'status', 'daemonset/hairpin-proxy-node', '--timeout=180s'], 190_000);
    await waitFor(async () => readFileSync(NODE_HOSTS, 'utf8').includes(`${hairpinIp} ${TEST_HOST}\n`), { timeoutMs: 60_000, intervalMs: 500, what: `${TEST_HOST} in the node's /etc/hosts` });
    expect(readFileSync(NODE_HOSTS).subarray(0, before.length).equals(before)).toBe(true);
    // A client on the node itself (as kubelet or the runtime resolve): the node's resolver answers from the file.
    expect(execFileSync('getent', ['hosts', TEST_HOST], { timeout: 5_000 }).toString().trim().split(/\s+/)[0]).toBe(hairpinIp);
    await kubectl(['delete', '-k', overlay, '--wait=true', '--timeout=120s'], 130_000);
    await waitFor(async () => readFileSync(NODE_HOSTS).equals(before), { timeoutMs: 60_000, intervalMs: 500, what: 'the node\'s /etc/hosts to be as it was' });
  }), 300_000);

  it('a rollout restart of the controller keeps the block: only a deleted Deployment removes anything', withLogs(async () => {
    const before = await scenario.readCorefile();
    expect(blockMentions(markerBlock(before), TEST_HOST)).toBe(true);
    await kubectl(['-n', HAIRPIN_NAMESPACE, 'rollout', 'restart', 'deployment/hairpin-proxy']);
    await kubectl(['-n', HAIRPIN_NAMESPACE, 'rollout', 'status', 'deployment/hairpin-proxy', '--timeout=180s'], 190_000);
    // Every old pod got SIGTERM and went without removing anything: the Deployment was not being deleted.
    expect(blockMentions(markerBlock(await scenario.readCorefile()), TEST_HOST)).toBe(true);
    // The cleanup identity a removal will use is in place, outside the install's manifests.
    const cleanup = await scenario.plane.kubectl(['-n', 'kube-system', 'get', 'serviceaccount/hairpin-proxy-cleanup', 'role/hairpin-proxy-cleanup', 'rolebinding/hairpin-proxy-cleanup', '-o', 'name']);
    expect(cleanup.stdout.trim().split('\n')).toHaveLength(3);
  }), 300_000);

  it('`kubectl delete` of the whole install (ServiceAccount and RBAC included, in one breath) leaves the Corefile byte for byte as before and nothing behind', withLogs(async () => {
    await kubectl(['delete', '-k', overlay, '--wait=true', '--timeout=240s'], 250_000);
    expect(await scenario.readCorefile()).toBe(scenario.corefileBefore);
    // Nothing behind: the install, and the cleanup identity (its Role and ServiceAccount go with
    // its RoleBinding, by garbage collection).
    const leftovers = async () =>
      (
        await scenario.plane.kubectl(
          ['get', 'namespace/hairpin-proxy', 'clusterrole/hairpin-proxy', 'clusterrolebinding/hairpin-proxy', '-n', 'kube-system', 'role/hairpin-proxy-coredns', 'serviceaccount/hairpin-proxy-cleanup', 'role/hairpin-proxy-cleanup', 'rolebinding/hairpin-proxy-cleanup', '--ignore-not-found', '-o', 'name'],
          { timeoutMs: 30_000 },
        )
      ).stdout.trim();
    await waitFor(async () => ((await leftovers()) === '' ? true : undefined), { timeoutMs: 60_000, intervalMs: 1_000, what: 'nothing of the install to be left' });
  }), 300_000);

  (dataplane.ok ? it : it.skip)(`the Helm chart: \`helm install\` in one step routes the host, \`helm uninstall\` leaves the Corefile byte for byte as before${dataplane.ok ? '' : ` (skipped: the chart has no static-HAProxy mode, and ${dataplane.reason})`}`, withLogs(async () => {
    const [controllerRepo = '', controllerTag = ''] = scenario.images.controller.split(/:(?=[^:]+$)/);
    const [haproxyRepo = '', haproxyTag = ''] = scenario.images.haproxy.split(/:(?=[^:]+$)/);
    const kubeconfig = scenario.plane.adminKubeconfigPath;
    const sets = [`controller.image.repository=${controllerRepo}`, `controller.image.tag=${controllerTag}`, `haproxy.image.repository=${haproxyRepo}`, `haproxy.image.tag=${haproxyTag}`];
    await runOk('helm', ['install', 'hairpin-proxy', join(REPO_ROOT, 'deploy', 'helm', 'hairpin-proxy'), '-n', HAIRPIN_NAMESPACE, '--create-namespace', '--kubeconfig', kubeconfig, '--wait', '--timeout', '5m', ...sets.flatMap((v) => ['--set-string', v])], { timeoutMs: 330_000 });
    await waitFor(async () => blockMentions(markerBlock(await scenario.readCorefile()), TEST_HOST), { timeoutMs: 120_000, what: 'the chart\'s controller to route the test host' });
    await runOk('helm', ['uninstall', 'hairpin-proxy', '-n', HAIRPIN_NAMESPACE, '--kubeconfig', kubeconfig, '--wait', '--timeout', '3m'], { timeoutMs: 200_000 });
    await waitFor(async () => ((await scenario.readCorefile()) === scenario.corefileBefore ? true : undefined), { timeoutMs: 60_000, intervalMs: 500, what: 'the Corefile to be as before the install' });
    const cleanup = await scenario.plane.kubectl(['-n', 'kube-system', 'get', 'serviceaccount,role,rolebinding', '-l', 'hairpin-proxy.io/role=removal-cleanup', '-o', 'name']);
    expect(cleanup.stdout.trim()).toBe('');
    await kubectl(['delete', '-n', APP_NAMESPACE, 'ingress', '--all']);
  }), 600_000);

  it('KEP-1860: with ipMode Proxy kube-proxy drops the short-circuit and the Pod reaches nginx through the load balancer', withLogs(async () => {
    // Skip DNS (it may still answer from before the uninstall): connect to the load balancer's IP.
    expect(describeHttp(await get('/', OUTSIDE.loadBalancer))).toBe('empty reply (curl 52)');
    await setLoadBalancerStatus(scenario.plane, { ipMode: 'Proxy' });
    await waitFor(async () => (await loadBalancerRules()).length === 0, { timeoutMs: 30_000, what: 'kube-proxy to drop its load balancer rule' });
    const through = await get('/', OUTSIDE.loadBalancer);
    expect(describeHttp(through)).toBe('HTTP 200');
  }), 120_000);
});
