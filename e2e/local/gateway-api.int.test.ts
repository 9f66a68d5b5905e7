/**
 * Several upstreams and Gateway API against a real apiserver, the real controller under its own
 * identity and a real CoreDNS: two --target upstreams, each with the hairpin Service the controller
 * creates for it; the Gateway API CRDs installed while the controller runs (found without a
 * restart); routes that count only once a Gateway accepted them; a host two upstreams claim; the
 * opt-out annotation; and ipMode Proxy read from an upstream LoadBalancer Service's status.
 *
 * No HAProxy runs here (the replica URL is a closed port, so the HAProxy key keeps failing in its
 * own lane while DNS converges); the HAProxy side of two upstreams is e2e/local/two-upstreams.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  blockMentions,
  cleanupAll,
  CONTROLLER_NAMESPACE,
  freePort,
  gateway,
  HAIRPIN_SERVICE,
  httpRoute,
  ingress,
  installGatewayApiCrds,
  makeTmpDir,
  markerBlock,
  readCorefile,
  runCli,
  seedCluster,
  setRouteAccepted,
  startControlPlane,
  startController,
  startCoreDns,
  waitFor,
  withLogs,
  type ControlPlane,
  type ControllerProcess,
  type CoreDns,
} from '../harness/index.js';
import { hairpinServiceName } from '../../src/plan/upstreams.js';

const CONVERGE_MS = 30_000;
/** The CRDs take ~10 s to install; every wait inside is bounded by CONVERGE_MS. */
const TEST_TIMEOUT_MS = 120_000;
const NGINX = { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' };
const ENVOY = { namespace: 'envoy-gateway-system', name: 'envoy-public' };
const PUBLIC_GATEWAY = { namespace: 'infra', name: 'public' };
const hairpinOf = (upstream: { namespace: string; name: string }) => hairpinServiceName(HAIRPIN_SERVICE, upstream);

let plane: ControlPlane;
let dns: CoreDns;
let controller: ControllerProcess;

interface ServiceView {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { clusterIP: string; selector?: Record<string, string>; ports: Array<{ port: number; targetPort: number }> };
}
interface EventView {
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; namespace: string; name: string };
}

/** An upstream's LoadBalancer Service, with the load balancer's address and ipMode in its status. */
async function applyUpstream(upstream: { namespace: string; name: string }, ipMode: 'VIP' | 'Proxy', ip: string): Promise<void> {
  await plane.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: upstream.namespace } },
    { apiVersion: 'v1', kind: 'Service', metadata: upstream, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } },
  ]);
  await setIpMode(upstream, ipMode, ip);
}

async function setIpMode(upstream: { namespace: string; name: string }, ipMode: 'VIP' | 'Proxy', ip: string): Promise<void> {
  const status = { loadBalancer: { ingress: [{ ip, ipMode }] } };
  await plane.kubectl(['patch', 'service', upstream.name, '-n', upstream.namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

async function hairpinService(upstream: { namespace: string; name: string }): Promise<ServiceView> {
  return plane.getJson<ServiceView>(['service', '-n', CONTROLLER_NAMESPACE, hairpinOf(upstream)]);
}

async function corefileConverges(present: readonly string[], absent: readonly string[] = []): Promise<string> {
  return waitFor(
    async () => {
      const block = markerBlock(await readCorefile(plane));
      return present.every((h) => blockMentions(block, h)) && absent.every((h) => !blockMentions(block, h)) ? block : undefined;
    },
    { timeoutMs: CONVERGE_MS, intervalMs: 200, what: `the Corefile to route [${present.join(', ')}] and not [${absent.join(', ')}]` },
  );
}

async function resolvesTo(name: string, address: string): Promise<void> {
  await waitFor(async () => ((await dns.resolve(name)).answers.some((r) => r.type === 'A' && r.data === address) ? true : undefined), {
    timeoutMs: CONVERGE_MS,
    intervalMs: 250,
    what: `${name} to resolve to ${address}`,
  });
}

async function eventsFor(namespace: string, reason: string): Promise<EventView[]> {
  return (await plane.getJson<{ items: EventView[] }>(['events', '-n', namespace, `--field-selector=reason=${reason}`])).items;
}

beforeAll(
  withLogs(async () => {
    const tmpDir = makeTmpDir('gateway-api');
    plane = await startControlPlane({ tmpDir });
    await seedCluster(plane);
    for (const namespace of ['shop', 'docs', PUBLIC_GATEWAY.namespace]) await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    await plane.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } });
    await applyUpstream(NGINX, 'VIP', '203.0.113.10');
    await applyUpstream(ENVOY, 'VIP', '203.0.113.20');
    dns = await startCoreDns({ controlPlane: plane, tmpDir });
    controller = await startController({
      controlPlane: plane,
      tmpDir,
      dataplaneUrls: [`http://127.0.0.1:${await freePort()}/v3`],
      args: ['--target', `nginx=${NGINX.namespace}/${NGINX.name}`, '--target', `eg=${ENVOY.namespace}/${ENVOY.name}:v2`, '--gateway-api-recheck', '2s'],
    });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

describe('two upstreams, before the Gateway API is installed', () => {
  it(
    'creates a hairpin Service per upstream, selecting the hairpin pods, and sends each Ingress host to its upstream\'s',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'shop', namespace: 'shop', hosts: ['shop.example.com'], ingressClassName: 'nginx' }));
      const block = await corefileConverges(['shop.example.com']);
      expect(block).toContain(`${hairpinOf(NGINX)}.${CONTROLLER_NAMESPACE}.svc.cluster.local.`);

      const template = await plane.getJson<ServiceView>(['service', '-n', CONTROLLER_NAMESPACE, HAIRPIN_SERVICE]);
      const [nginx, envoy] = [await hairpinService(NGINX), await hairpinService(ENVOY)];
      for (const [service, upstream] of [[nginx, NGINX], [envoy, ENVOY]] as const) {
        expect(service.spec.selector).toEqual(template.spec.selector);
        expect(service.metadata.annotations?.['hairpin-proxy.io/upstream']).toBe(`${upstream.namespace}/${upstream.name}`);
        expect(service.spec.ports.map((p) => p.port)).toEqual([80, 443]);
        for (const { targetPort } of service.spec.ports) expect(targetPort).toBeGreaterThanOrEqual(20_000);
      }
      const frontendPorts = [...nginx.spec.ports, ...envoy.spec.ports].map((p) => p.targetPort);
      expect(new Set(frontendPorts).size).toBe(4);
      await resolvesTo('shop.example.com', nginx.spec.clusterIP);
    }),
    TEST_TIMEOUT_MS,
  );
});

describe('Gateway API routes', () => {
  it(
    'are found when the CRDs are installed later, without a restart, and count once their Gateway accepted them (HTTPRoute and GRPCRoute)',
    withLogs(async () => {
      const pid = controller.process.pid;
      await installGatewayApiCrds(plane, { channel: 'standard', kinds: ['Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute'] });
      await controller.waitForLog((line) => line.msg === 'watching a Gateway API kind' && line.kind === 'HTTPRoute', 'the controller to find HTTPRoutes', { timeoutMs: CONVERGE_MS });

      const docs = { kind: 'HTTPRoute', namespace: 'docs', name: 'docs', gateway: PUBLIC_GATEWAY } as const;
      await plane.apply([
        gateway({ ...PUBLIC_GATEWAY, className: 'eg', hostnames: ['*.example.org'] }),
        // *.example.org narrows the first hostname; example.net is outside the listener's and goes.
        httpRoute({ ...docs, hostnames: ['*.docs.example.org', 'docs.example.net'] }),
      ]);
      const beforeRefusal = controller.logs().length;
      await setRouteAccepted(plane, docs, false);
      // The status change is an update the controller syncs on; a refused route routes nothing.
      await controller.waitForLog((line) => line.msg === 'sync finished' && line.key === 'coredns', 'a Corefile sync after the refusal', { fromIndex: beforeRefusal, timeoutMs: CONVERGE_MS });
      expect(markerBlock(await readCorefile(plane))).not.toContain('docs');

      await setRouteAccepted(plane, docs, true);
      const grpc = { kind: 'GRPCRoute', namespace: 'docs', name: 'api', gateway: PUBLIC_GATEWAY } as const;
      await plane.apply(httpRoute({ ...grpc, hostnames: ['grpc.example.org'] }));
      await setRouteAccepted(plane, grpc, true);
      const block = await corefileConverges(['*.docs.example.org', 'grpc.example.org'], ['docs.example.net']);
      expect(block).toContain(`${hairpinOf(ENVOY)}.${CONTROLLER_NAMESPACE}.svc.cluster.local.`);
      expect(controller.process.pid).toBe(pid);

      // A Gateway API wildcard covers names of any depth below it, but not the parent itself.
      const envoy = await hairpinService(ENVOY);
      await resolvesTo('a.docs.example.org', envoy.spec.clusterIP);
      await resolvesTo('a.b.docs.example.org', envoy.spec.clusterIP);
      expect((await dns.resolve('docs.example.org')).answers.map((r) => r.data)).not.toContain(envoy.spec.clusterIP);
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'skip a host two upstreams claim, with a Warning on each claimant naming the other',
    withLogs(async () => {
      const both = { kind: 'HTTPRoute', namespace: 'shop', name: 'both', gateway: PUBLIC_GATEWAY } as const;
      await plane.apply([httpRoute({ ...both, hostnames: ['both.example.org', 'only-route.example.org'] }), ingress({ name: 'both', namespace: 'shop', hosts: ['both.example.org'], ingressClassName: 'nginx' })]);
      await setRouteAccepted(plane, both, true);
      await corefileConverges(['only-route.example.org'], ['both.example.org']);

      const conflicts = await waitFor(async () => {
        const events = await eventsFor('shop', 'HostConflict');
        return events.length === 2 ? events : undefined;
      }, { timeoutMs: CONVERGE_MS, intervalMs: 500, what: 'a HostConflict Event on the Ingress and on the HTTPRoute' });
      expect(conflicts.map((e) => `${e.type} ${e.involvedObject.kind}/${e.involvedObject.name}`).sort()).toEqual(['Warning HTTPRoute/both', 'Warning Ingress/both']);
      expect(conflicts.find((e) => e.involvedObject.kind === 'Ingress')?.message).toContain('httproute/shop/both');
      expect(conflicts.find((e) => e.involvedObject.kind === 'HTTPRoute')?.message).toContain('ingress/shop/both');
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'drop a route annotated hairpin-proxy.io/enabled: "false"',
    withLogs(async () => {
      await plane.kubectl(['annotate', 'httproute', 'both', '-n', 'shop', 'hairpin-proxy.io/enabled=false']);
      await corefileConverges(['*.docs.example.org', 'grpc.example.org'], ['only-route.example.org']);
    }),
    TEST_TIMEOUT_MS,
  );
});

describe('without --target', () => {
  it(
    'ignores the routes, as before, and says once that they need a --target',
    withLogs(async () => {
      const run = await runCli(['run', '--once', '--dry-run', '--kubeconfig', plane.controllerKubeconfigPath, '--listen-address', 'off', '--no-manage-haproxy'], 60_000);
      expect(run.code).toBe(0);
      const lines = run.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; served?: string[] });
      expect(lines.filter((line) => /routes are ignored/.test(line.msg))).toEqual([expect.objectContaining({ served: ['HTTPRoute', 'GRPCRoute', 'TLSRoute'] })]);
    }),
    TEST_TIMEOUT_MS,
  );
});

describe('KEP-1860', () => {
  it(
    'leaves the hosts of an upstream whose load balancer reports ipMode Proxy alone, says so once, and routes them again at VIP',
    withLogs(async () => {
      await setIpMode(NGINX, 'Proxy', '203.0.113.10');
      await corefileConverges(['*.docs.example.org'], ['shop.example.com']);
      const [event] = await waitFor(async () => {
        const events = await eventsFor(NGINX.namespace, 'IpModeProxy');
        return events.length > 0 ? events : undefined;
      }, { timeoutMs: CONVERGE_MS, intervalMs: 500, what: 'an IpModeProxy Event on the ingress-nginx Service' });
      expect(event).toMatchObject({ type: 'Normal', involvedObject: { kind: 'Service', name: NGINX.name } });
      expect(event?.message).toMatch(/ipMode Proxy/);

      await setIpMode(NGINX, 'VIP', '203.0.113.10');
      await corefileConverges(['shop.example.com', '*.docs.example.org']);
    }),
    TEST_TIMEOUT_MS,
  );
});
