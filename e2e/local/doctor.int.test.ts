/**
 * `hairpin-proxy doctor` against a real apiserver: the built CLI, `--output json`, as an admin
 * (doctor reads everything; the RBAC it checks is the controller's ServiceAccount's, through
 * SubjectAccessReviews). First a healthy setup whose block the real controller wrote (started,
 * waited for, stopped), then one deliberately broken setup per finding, each restored after its
 * test, and finally an apiserver that is gone (exit 2, bounded).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  blockMentions,
  cleanupAll,
  CONTROLLER_NAMESPACE,
  COREDNS_CONFIGMAP,
  COREDNS_NAMESPACE,
  freePort,
  HAIRPIN_SERVICE,
  ingress,
  kubeconfigFor,
  makeTmpDir,
  markerBlock,
  NODE_LOCAL_DNS_CONFIGMAP,
  nodeLocalDnsCorefile,
  readCorefile,
  runCli,
  seedCluster,
  startBlackHole,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  withoutMarkerBlock,
  writeCorefile,
  type ControlPlane,
} from '../harness/index.js';

const TEST_TIMEOUT_MS = 60_000;
/** doctor bounds itself at 30 s; the CLI is killed a little after that. */
const CLI_DEADLINE_MS = 45_000;
const NGINX = { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' };
const NGINX_SLICE = `${NGINX.name}-e2e`;
const HAIRPIN_SLICE = `${HAIRPIN_SERVICE}-e2e`;
const HOST = 'shop.example.com';

interface Finding {
  check: string;
  severity: 'ok' | 'warning' | 'error';
  message: string;
  fix: string | null;
}
interface Report {
  healthy: boolean;
  findings: Finding[];
}

let plane: ControlPlane;
let tmpDir: string;
/** The Corefile with the block the real controller wrote. */
let current: string;

async function doctor(args: readonly string[] = []): Promise<{ code: number | null; report: Report; stdout: string; stderr: string }> {
  const run = await runCli(['doctor', '--kubeconfig', plane.adminKubeconfigPath, '--output', 'json', ...args], CLI_DEADLINE_MS);
  if (run.killed) throw new Error(`doctor ran past ${CLI_DEADLINE_MS} ms: ${run.stderr}`);
  if (run.code === 2) throw new Error(`doctor could not check: ${run.stderr}`);
  return { code: run.code, report: JSON.parse(run.stdout) as Report, stdout: run.stdout, stderr: run.stderr };
}

const problems = (report: Report) => report.findings.filter((f) => f.severity !== 'ok');

/** doctor finds exactly these problems (waiting, bounded, for what the apiserver has to propagate, e.g. RBAC). */
async function findsExactly(expected: ReadonlyArray<{ check: string; severity: 'warning' | 'error'; message: RegExp }>, args: readonly string[] = []): Promise<Report> {
  let last: Report | undefined;
  try {
    return await waitFor(
      async () => {
        const { code, report } = await doctor(args);
        last = report;
        const found = problems(report);
        const matches = found.length === expected.length && expected.every((e) => found.some((f) => f.check === e.check && f.severity === e.severity && e.message.test(f.message) && typeof f.fix === 'string' && f.fix !== ''));
        return matches && code === 1 && !report.healthy ? report : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: `doctor to find ${expected.map((e) => `${e.severity} ${e.check} ${e.message}`).join('; ')}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast report: ${JSON.stringify(last, null, 2)}`);
  }
}

async function isHealthy(): Promise<Report> {
  return waitFor(
    async () => {
      const { code, report } = await doctor();
      return code === 0 && report.healthy ? report : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 500, what: 'doctor to report a healthy cluster' },
  );
}

async function patch(kind: string, namespace: string | undefined, name: string, body: object, subresource?: string): Promise<void> {
  await plane.kubectl(['patch', kind, name, ...(namespace ? ['-n', namespace] : []), '--type=merge', ...(subresource ? [`--subresource=${subresource}`] : []), '-p', JSON.stringify(body)]);
}

const setReady = (namespace: string, slice: string, address: string, ready: boolean) => patch('endpointslice', namespace, slice, { endpoints: [{ addresses: [address], conditions: { ready } }] });
const setIpMode = (ipMode: 'VIP' | 'Proxy') => patch('service', NGINX.namespace, NGINX.name, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode }] } } }, 'status');

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('doctor');
    plane = await startControlPlane({ tmpDir });
    await seedCluster(plane);
    await plane.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NGINX.namespace } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: NGINX,
        spec: {
          type: 'LoadBalancer',
          selector: { 'app.kubernetes.io/name': NGINX.name },
          ports: [
            { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
            { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
          ],
        },
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: NGINX_SLICE, namespace: NGINX.namespace, labels: { 'kubernetes.io/service-name': NGINX.name, 'endpointslice.kubernetes.io/managed-by': 'e2e' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true } }],
        ports: [
          { name: 'http', port: 80, protocol: 'TCP' },
          { name: 'https', port: 443, protocol: 'TCP' },
        ],
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ingress-nginx-controller', namespace: NGINX.namespace }, data: { 'use-proxy-protocol': 'true' } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
      ingress({ name: 'shop', namespace: 'shop', hosts: [HOST], tlsHosts: [HOST], ingressClassName: 'nginx' }),
    ]);
    await setIpMode('VIP');
    // The real controller writes the block, then stops: doctor must find it current.
    const controller = await startController({ controlPlane: plane, tmpDir });
    current = await waitFor(async () => {
      const corefile = await readCorefile(plane);
      return blockMentions(markerBlock(corefile), HOST) ? corefile : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `the controller to route ${HOST}` });
    await controller.stop();
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

describe('hairpin-proxy doctor on a healthy cluster', () => {
  it(
    'finds nothing wrong (exit 0), every check ok, and writes nothing',
    withLogs(async () => {
      const versions = async () => {
        const list = await plane.getJson<{ items: Array<{ kind: string; metadata: { namespace?: string; name: string; resourceVersion: string } }> }>(['configmaps,services,endpointslices,deployments,ingresses,events,leases', '-A']);
        return list.items.filter((o) => !(o.kind === 'Lease' && o.metadata.namespace === 'kube-system')).map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
      };
      const before = await versions();
      const { code, report, stdout } = await doctor();
      expect(code).toBe(0);
      expect(report.healthy).toBe(true);
      expect(problems(report)).toEqual([]);
      expect(new Set(report.findings.map((f) => f.check))).toEqual(new Set(['dns-flavour', 'dns-mode', 'corefile-health', 'rules-current', 'routes-fit', 'upstream', 'haproxy-replicas', 'legacy-controller', 'rbac']));
      expect(report.findings.every((f) => f.fix === null)).toBe(true);
      expect(report.findings).toContainEqual({ check: 'dns-mode', severity: 'ok', message: expect.stringMatching(/^--coredns-mode auto resolves to corefile/), fix: null });
      expect(report.findings).toContainEqual({ check: 'rules-current', severity: 'ok', message: expect.stringMatching(/routes 1 host, exactly what the controller would write now$/), fix: null });
      expect(report.findings).toContainEqual({ check: 'routes-fit', severity: 'ok', message: 'the 1 route fits in ConfigMap kube-system/coredns', fix: null });
      expect(report.findings).toContainEqual({ check: 'rbac', severity: 'ok', message: expect.stringMatching(/^system:serviceaccount:hairpin-proxy:hairpin-proxy is allowed all \d+ verbs/), fix: null });
      expect(stdout.trim().split('\n')).toHaveLength(1);
      expect(await versions()).toEqual(before);
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'prints text: one line per finding',
    withLogs(async () => {
      const run = await runCli(['doctor', '--kubeconfig', plane.adminKubeconfigPath], CLI_DEADLINE_MS);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^ok {6}rules-current {5}our block in the Corefile in kube-system\/coredns routes 1 host/m);
      expect(run.stdout).not.toMatch(/fix:/);
    }),
    TEST_TIMEOUT_MS,
  );
});

describe('hairpin-proxy doctor on a broken cluster', () => {
  it(
    'a stale block: warning, the controller is not running or failing',
    withLogs(async () => {
      await writeCorefile(plane, current.replaceAll('shop', 'old'));
      try {
        await findsExactly([{ check: 'rules-current', severity: 'warning', message: /^stale: .*the controller is not running or failing$/ }]);
      } finally {
        await writeCorefile(plane, current);
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'no block although a host is routed: error, missing',
    withLogs(async () => {
      await writeCorefile(plane, withoutMarkerBlock(current));
      try {
        await findsExactly([{ check: 'rules-current', severity: 'error', message: /^missing: 1 host should be routed \(shop\.example\.com\)/ }]);
      } finally {
        await writeCorefile(plane, current);
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'a Corefile that does not parse: error naming the line',
    withLogs(async () => {
      await writeCorefile(plane, current.replace(/\}\n$/, ''));
      try {
        await findsExactly([{ check: 'corefile-health', severity: 'error', message: /cannot be edited: Corefile line 1: unclosed '\{'$/ }]);
      } finally {
        await writeCorefile(plane, current);
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'no ready endpoint behind the upstream: error',
    withLogs(async () => {
      await setReady(NGINX.namespace, NGINX_SLICE, '10.244.0.5', false);
      try {
        await findsExactly([{ check: 'upstream', severity: 'error', message: /^ingress-nginx\/ingress-nginx-controller: no ready endpoints in its 1 EndpointSlice/ }]);
      } finally {
        await setReady(NGINX.namespace, NGINX_SLICE, '10.244.0.5', true);
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'ipMode Proxy: ok, no hairpin needed, hosts skipped (so the block the controller wrote is now stale)',
    withLogs(async () => {
      await setIpMode('Proxy');
      try {
        const report = await findsExactly([{ check: 'rules-current', severity: 'warning', message: /^stale: / }]);
        expect(report.findings).toContainEqual({
          check: 'upstream',
          severity: 'ok',
          message: 'ingress-nginx/ingress-nginx-controller: its load balancer reports ipMode Proxy on every address: no hairpin needed, hosts skipped',
          fix: null,
        });
        const anyway = await doctor(['--rewrite-when-ipmode-proxy']);
        expect(problems(anyway.report)).toEqual([]);
        expect(anyway.report.findings).toContainEqual(expect.objectContaining({ check: 'upstream', message: expect.stringMatching(/hosts rewritten anyway/) }));
      } finally {
        await setIpMode('VIP');
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'ingress-nginx without use-proxy-protocol: warning',
    withLogs(async () => {
      await patch('configmap', NGINX.namespace, 'ingress-nginx-controller', { data: { 'use-proxy-protocol': 'false' } });
      try {
        await findsExactly([{ check: 'upstream', severity: 'warning', message: /use-proxy-protocol "false": then there is no hairpin problem to fix; or PROXY is set elsewhere$/ }]);
      } finally {
        await patch('configmap', NGINX.namespace, 'ingress-nginx-controller', { data: { 'use-proxy-protocol': 'true' } });
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'no ready hairpin HAProxy replica: error',
    withLogs(async () => {
      await setReady(CONTROLLER_NAMESPACE, HAIRPIN_SLICE, '10.244.0.10', false);
      try {
        await findsExactly([{ check: 'haproxy-replicas', severity: 'error', message: /^the hairpin Service hairpin-proxy\/hairpin-proxy-haproxy has no ready endpoints/ }]);
      } finally {
        await setReady(CONTROLLER_NAMESPACE, HAIRPIN_SLICE, '10.244.0.10', true);
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'the original Ruby hairpin-proxy still deployed: error, delete it',
    withLogs(async () => {
      const labels = { app: 'hairpin-proxy-controller' };
      await plane.apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'hairpin-proxy-controller', namespace: CONTROLLER_NAMESPACE },
        spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'compumike/hairpin-proxy-controller:0.2.1' }] } } },
      });
      try {
        const report = await findsExactly([{ check: 'legacy-controller', severity: 'error', message: /Deployment hairpin-proxy\/hairpin-proxy-controller \(compumike\/hairpin-proxy-controller:0\.2\.1\)/ }]);
        expect(problems(report)[0]?.fix).toBe('delete it: kubectl -n hairpin-proxy delete deployment hairpin-proxy-controller');
      } finally {
        await plane.kubectl(['delete', 'deployment', '-n', CONTROLLER_NAMESPACE, 'hairpin-proxy-controller', '--wait=false']);
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    "the Ruby hairpin-proxy's lines in the Corefile: warning (and the controller would remove them)",
    withLogs(async () => {
      await writeCorefile(plane, current.replace('    errors\n', '    errors\n    rewrite name old.example.com hairpin-proxy.hairpin-proxy.svc.cluster.local # Added by hairpin-proxy\n'));
      try {
        await findsExactly([
          { check: 'legacy-controller', severity: 'warning', message: /1 line ending with "# Added by hairpin-proxy"/ },
          { check: 'rules-current', severity: 'warning', message: /^stale: / },
        ]);
      } finally {
        await writeCorefile(plane, current);
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    "a verb the controller's ServiceAccount lacks: error listing it, apply deploy/base/rbac.yaml",
    withLogs(async () => {
      const role = await plane.getJson<{ rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>(['clusterrole', 'hairpin-proxy']);
      await patch('clusterrole', undefined, 'hairpin-proxy', { rules: role.rules.filter((rule) => !rule.resources.includes('ingressclasses')) });
      try {
        await findsExactly([
          {
            check: 'rbac',
            severity: 'error',
            message: /is not allowed to: list networking\.k8s\.io\/ingresses \(all namespaces\); watch networking\.k8s\.io\/ingresses \(all namespaces\); list networking\.k8s\.io\/ingressclasses \(all namespaces\); watch networking\.k8s\.io\/ingressclasses \(all namespaces\)$/,
          },
        ]);
      } finally {
        await patch('clusterrole', undefined, 'hairpin-proxy', { rules: role.rules });
      }
      await isHealthy();
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'node-local-dns labelled addonmanager.kubernetes.io/mode=Reconcile: warning, set EnsureExists',
    withLogs(async () => {
      await plane.apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: NODE_LOCAL_DNS_CONFIGMAP, namespace: COREDNS_NAMESPACE, labels: { 'addonmanager.kubernetes.io/mode': 'Reconcile' } },
        data: { Corefile: nodeLocalDnsCorefile() },
      });
      try {
        const report = await findsExactly([{ check: 'node-local-dns', severity: 'warning', message: /is labelled addonmanager\.kubernetes\.io\/mode=Reconcile/ }]);
        expect(problems(report)[0]?.fix).toMatch(/addonmanager\.kubernetes\.io\/mode=EnsureExists/);
        // Without the label, our block is simply missing there.
        await patch('configmap', COREDNS_NAMESPACE, NODE_LOCAL_DNS_CONFIGMAP, { metadata: { labels: { 'addonmanager.kubernetes.io/mode': 'EnsureExists' } } });
        await findsExactly([{ check: 'node-local-dns', severity: 'error', message: /^missing: / }]);
      } finally {
        await plane.kubectl(['delete', 'configmap', '-n', COREDNS_NAMESPACE, NODE_LOCAL_DNS_CONFIGMAP]);
      }
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    "GKE's kube-dns and no CoreDNS: error naming the alternatives",
    withLogs(async () => {
      await plane.apply([
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-dns', namespace: 'kube-system' } },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'kube-dns', namespace: 'kube-system' },
          spec: { selector: { matchLabels: { 'k8s-app': 'kube-dns' } }, template: { metadata: { labels: { 'k8s-app': 'kube-dns' } }, spec: { containers: [{ name: 'kubedns', image: 'registry.k8s.io/dns/k8s-dns-kube-dns:1.23.0' }] } } },
        },
      ]);
      await plane.kubectl(['delete', 'configmap', '-n', COREDNS_NAMESPACE, COREDNS_CONFIGMAP]);
      try {
        const report = await findsExactly([{ check: 'dns-flavour', severity: 'error', message: /not found, but kube-system has a kube-dns ConfigMap and Deployment/ }]);
        expect(problems(report)[0]?.fix).toMatch(/--coredns-mode external-dns .* hosts-file covers node clients/);
      } finally {
        await plane.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: COREDNS_CONFIGMAP, namespace: COREDNS_NAMESPACE }, data: { Corefile: current } });
        await plane.kubectl(['delete', 'deployment,configmap', '-n', 'kube-system', 'kube-dns', '--wait=false']);
      }
      await isHealthy();
    }),
    TEST_TIMEOUT_MS,
  );
});

describe('hairpin-proxy doctor without an apiserver', () => {
  it(
    'one that never answers: exit 2 within the 30 s bound, naming the apiserver',
    withLogs(async () => {
      const hole = await startBlackHole();
      const server = `https://127.0.0.1:${hole.port}`;
      const started = Date.now();
      const run = await runCli(['doctor', '--kubeconfig', kubeconfigFor(plane, server, join(tmpDir, 'black-hole.kubeconfig')), '--output', 'json'], CLI_DEADLINE_MS);
      expect(run.killed).toBe(false);
      expect(run.code).toBe(2);
      expect(Date.now() - started).toBeLessThan(40_000);
      expect(run.stdout).toBe('');
      // undici gives up a TLS handshake after 10 s, doctor's own deadline is 30 s: either way, this.
      expect(run.stderr).toContain(`could not check: the apiserver ${server} did not answer`);
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'one that is not there: exit 2 at once, naming it',
    withLogs(async () => {
      const server = `https://127.0.0.1:${await freePort()}`;
      const run = await runCli(['doctor', '--kubeconfig', kubeconfigFor(plane, server, join(tmpDir, 'gone.kubeconfig'))], CLI_DEADLINE_MS);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`could not check: the apiserver ${server} did not answer`);
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'a bad flag: exit 2 naming it, before any call',
    withLogs(async () => {
      const run = await runCli(['doctor', '--coredns-mode', 'sometimes', '--kubeconfig', plane.adminKubeconfigPath], CLI_DEADLINE_MS);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/coredns-mode/);
    }),
    TEST_TIMEOUT_MS,
  );
});
