/**
 * Two upstreams behind two PROXY-protocol load balancers, one hairpin HAProxy fleet: an Ingress
 * host served by ingress-nginx (PROXY v1) and an HTTPRoute host served by a Gateway API
 * implementation with one Service per Gateway (PROXY v2), each played by its own proxy_protocol
 * nginx in its own pod. The controller runs with a --target for each; the hosts resolve to two
 * hairpin Services, each reaching its own HAProxy frontends; cert-manager's self-check passes for
 * both hosts, and each nginx logs the pod's own address, read from the PROXY header it expects.
 *
 * Needs network namespaces and the Data Plane API (the fleet is configured through it); skipped,
 * saying why, without them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  canUseNetns,
  cleanupAll,
  dataplaneTools,
  makeTmpDir,
  seedCluster,
  startControlPlane,
  startController,
  startCoreDns,
  waitFor,
  withLogs,
  type ControllerProcess,
  type ControlPlane,
} from '../harness/index.js';
import { applyClusterObjects } from '../story/cluster-objects.js';
import { describeRoutes, forwardsTo, readRoutes, startManagedHairpinHaproxy, type ManagedHairpinHaproxy } from '../story/hairpin-dataplane.js';
import { describeHttp, httpGet } from '../story/http-get.js';
import { startIngressNginx, type IngressNginx } from '../story/ingress-nginx.js';
import { startLoadBalancer } from '../story/load-balancer.js';
import { startRelay } from '../story/relay.js';
import { runSelfCheck } from '../story/self-check.js';
import { addKubeProxyRules, addLocalAddress, ADDRESSES, createTopology, writePodResolvConf, type Topology } from '../story/topology.js';
import { hairpinClusterIp, hairpinForwards, loadBalancerForwards, storyUpstreams, type StoryUpstream } from '../story/upstream.js';

const netns = await canUseNetns();
const dataplane = await dataplaneTools();
const skipReason = !netns.ok ? netns.reason : !dataplane.ok ? `the Data Plane API is not available: ${dataplane.reason}` : undefined;
if (skipReason) console.warn(`two-upstreams integration test skipped: ${skipReason}`);

const CONVERGE_MS = 60_000;

/** One upstream of the two: what asks for its host, its pod, its load balancer. */
interface Upstream {
  readonly story: StoryUpstream;
  readonly host: string;
  readonly podAddress: string;
  readonly loadBalancer: string;
  nginx?: IngressNginx;
}

const [ingressUpstream, gatewayUpstream] = storyUpstreams(['ingress', 'gateway']);
const upstreams: readonly Upstream[] = [
  { story: ingressUpstream as StoryUpstream, host: 'shop.example.test', podAddress: ADDRESSES.ingressNginxPod, loadBalancer: ADDRESSES.loadBalancer },
  { story: gatewayUpstream as StoryUpstream, host: 'docs.example.test', podAddress: ADDRESSES.gatewayProxyPod, loadBalancer: ADDRESSES.gatewayLoadBalancer },
];

let plane: ControlPlane;
let topology: Topology;
let hairpin: ManagedHairpinHaproxy;
let controller: ControllerProcess;
let tmpDir: string;

(skipReason ? describe.skip : describe)('two upstreams with their own PROXY versions, one hairpin HAProxy fleet', () => {
  beforeAll(
    withLogs(async () => {
      tmpDir = makeTmpDir('two-upstreams');
      topology = await createTopology({ secondUpstream: true });
      plane = await startControlPlane({ tmpDir });
      await seedCluster(plane);
      for (const upstream of upstreams) {
        await applyClusterObjects(plane, { host: upstream.host, source: upstream.story.source, service: upstream.story.service, loadBalancerIp: upstream.loadBalancer, ingressControllerPodIp: upstream.podAddress });
      }
      const dns = await startCoreDns({ controlPlane: plane, tmpDir });
      writePodResolvConf(topology.pod);
      await addLocalAddress(topology.pod, ADDRESSES.kubeDns);
      await startRelay(tmpDir, [{ name: 'kube-dns', listen: { netns: topology.pod.name, address: ADDRESSES.kubeDns, port: 53 }, target: { address: '127.0.0.1', port: dns.port } }]);
      for (const [index, upstream] of upstreams.entries()) {
        const podNetns = index === 0 ? topology.node : topology.gatewayProxy;
        if (!podNetns) throw new Error('createTopology made no second upstream pod');
        const name = `upstream-${upstream.story.source}`;
        upstream.nginx = await startIngressNginx({ netns: podNetns, tmpDir, address: upstream.podAddress, host: upstream.host, name });
        const backend = { address: upstream.podAddress, httpPort: upstream.nginx.httpPort, httpsPort: upstream.nginx.httpsPort };
        await startLoadBalancer({ netns: topology.internet, tmpDir, address: upstream.loadBalancer, backend, proxyProtocol: upstream.story.proxyProtocol, name: `lb-${upstream.story.source}` });
        // kube-proxy's short-circuit of each load balancer address (ipMode VIP).
        await addKubeProxyRules(topology.pod, loadBalancerForwards(upstream.story, upstream.loadBalancer, upstream.podAddress));
      }
      hairpin = await startManagedHairpinHaproxy({ netns: topology.hairpin, tmpDir, address: ADDRESSES.hairpinPod });
      // A --target per upstream; HAProxy's ports are the default 80 and 443.
      controller = await startController({ controlPlane: plane, tmpDir, dataplaneUrls: [hairpin.dataplane.url], args: gatewayUpstream?.controllerArgs ?? [] });
      // kube-proxy, played: each hairpin Service the controller creates goes to its frontends.
      for (const upstream of upstreams) {
        const clusterIp = await waitFor(() => hairpinClusterIp(plane, upstream.story), { timeoutMs: CONVERGE_MS, intervalMs: 200, what: `the hairpin Service ${upstream.story.hairpin.service}` });
        await addKubeProxyRules(topology.pod, hairpinForwards(upstream.story, clusterIp));
      }
    }),
    180_000,
  );
  afterAll(() => cleanupAll(), 60_000);

  it(
    'the short-circuit fails for both: each upstream closes a connection without its PROXY header',
    withLogs(async () => {
      for (const upstream of upstreams) {
        const bare = await httpGet(`http://${upstream.host}/`, { netns: topology.pod.name, connectTo: upstream.loadBalancer, timeoutMs: 10_000 });
        expect(describeHttp(bare)).toBe('empty reply (curl 52)');
      }
    }),
    60_000,
  );

  it(
    'the hairpin HAProxy has a frontend per upstream port, each to its own upstream with its own header, in one reload',
    withLogs(async () => {
      const api = hairpin.dataplane.client();
      const routes = await waitFor(
        async () => {
          const seen = await readRoutes(api);
          const ready = upstreams.every((u) => forwardsTo(seen, u.story.hairpin.ports.map((p) => p.listenPort), u.podAddress, u.story.proxyProtocol === 'v2' ? 'send-proxy-v2' : 'send-proxy'));
          if (!ready) throw new Error(`HAProxy forwards ${describeRoutes(seen)}`);
          return seen;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200, what: 'both upstreams to be configured in the hairpin HAProxy' },
      );
      expect(routes).toHaveLength(4);
      expect((await hairpin.dataplane.reloads()) - hairpin.reloadsAtStart).toBe(1);
    }),
    90_000,
  );

  it.each(upstreams.map((u) => [u.story.source, u] as const))(
    'the %s host resolves to its own hairpin Service, cert-manager\'s self-check passes, and its upstream logs the pod from the PROXY header',
    async (_source, upstream) => {
      const clusterIp = await hairpinClusterIp(plane, upstream.story);
      await waitFor(
        async () => {
          const http = await httpGet(`http://${upstream.host}/`, { netns: topology.pod.name, timeoutMs: 5_000 });
          return http.status === 200 ? http : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 250, what: `${upstream.host} to answer through its hairpin path (${clusterIp})` },
      );
      const token = `two-upstreams-${upstream.story.source}`;
      const keyAuthorization = `${token}.thumbprint`;
      upstream.nginx?.present(token, keyAuthorization);
      const check = await runSelfCheck({ netns: topology.pod.name, host: upstream.host, token, keyAuthorization, giveUpAfterMs: 30_000, passIntervalMs: 200, retryIntervalMs: 1_000 });
      expect(check.lastError).toBeUndefined();
      expect(check.passed).toBe(true);
      const logged = upstream.nginx?.lastLogLine(new RegExp(`^client=.* host=${upstream.host.replaceAll('.', '\\.')} .*${token}`));
      expect(logged).toMatch(new RegExp(`^client=${ADDRESSES.clientPod.replaceAll('.', '\\.')} peer=${ADDRESSES.hairpinPod.replaceAll('.', '\\.')} `));
    },
    90_000,
  );

  it(
    'an upstream\'s endpoints change at runtime, without a reload',
    withLogs(async () => {
      const reloads = await hairpin.dataplane.reloads();
      const { service } = gatewayUpstream as StoryUpstream;
      // A second ready endpoint for the Gateway's proxy (nothing listens there: HAProxy's check marks it down).
      await plane.kubectl(['patch', 'endpointslice', `${service.name}-story`, '-n', service.namespace, '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/endpoints/-', value: { addresses: ['10.244.0.22'], conditions: { ready: true } } }])]);
      await waitFor(
        async () => {
          const routes = await readRoutes(hairpin.dataplane.client());
          return routes.some((route) => route.servers.some((server) => server.address === '10.244.0.22')) ? routes : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200, what: 'the new endpoint to be a server of the Gateway upstream' },
      );
      expect(await hairpin.dataplane.reloads()).toBe(reloads);
    }),
    90_000,
  );

  it(
    'a changed --target set reloads the replica once: the removed upstream\'s frontends and hairpin Service go, the other keeps its ports',
    withLogs(async () => {
      const reloads = await hairpin.dataplane.reloads();
      await controller.stop();
      const [only] = storyUpstreams(['ingress', 'gateway']);
      controller = await startController({ controlPlane: plane, tmpDir, dataplaneUrls: [hairpin.dataplane.url], args: ['--target', only?.target ?? ''], name: 'controller-one-target' });
      const routes = await waitFor(
        async () => {
          const seen = await readRoutes(hairpin.dataplane.client());
          return seen.length === 2 ? seen : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200, what: 'the Gateway upstream\'s frontends to be removed' },
      );
      expect(routes.map((r) => r.port)).toEqual(only?.hairpin.ports.map((p) => p.listenPort));
      // The API reloads reload_delay (1 s) after the commit; a second reload would follow as late.
      await waitFor(async () => ((await hairpin.dataplane.reloads()) > reloads ? true : undefined), { timeoutMs: 10_000, intervalMs: 200, what: 'the reload of the new configuration' });
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await hairpin.dataplane.reloads()).toBe(reloads + 1);
      await waitFor(async () => ((await hairpinClusterIp(plane, gatewayUpstream as StoryUpstream)) === undefined ? true : undefined), {
        timeoutMs: CONVERGE_MS,
        intervalMs: 200,
        what: 'the Gateway upstream\'s hairpin Service to be deleted',
      });
      const http = await httpGet('http://shop.example.test/', { netns: topology.pod.name, timeoutMs: 5_000 });
      expect(describeHttp(http)).toBe('HTTP 200');
    }),
    90_000,
  );
});
