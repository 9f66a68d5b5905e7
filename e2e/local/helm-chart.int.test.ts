/**
 * The Helm chart deploy/helm/hairpin-proxy, rendered by the pinned Helm (`hack/tools path helm`)
 * and checked like deploy/ (e2e/local/deploy.int.test.ts):
 *
 * - `helm lint --strict` is clean, and the values schema refuses a key that is no flag.
 * - Parity: with the default values the chart renders deploy/base's objects, field for field, once
 *   Helm's own labels and annotations are taken off; with a DNS mode or `target`, it renders
 *   deploy/base plus the matching deploy/components (RBAC rules compared grant by grant, the
 *   controller's flags as the controller parses them). Over every other setting the RBAC depends
 *   on, it grants nothing deploy/ does not. A difference names the object and the field. This is
 *   what keeps the chart and deploy/ from drifting apart: change one, and this fails until the
 *   other follows.
 * - Values that change objects (DNS modes, targets, ServiceMonitor, digests, ports, budgets, …)
 *   render what they should, the values the chart cannot honour are refused, and the flags it
 *   renders parse with the controller's own parser (src/config.ts loadConfig).
 * - On the harness's real kube-apiserver: the rendered chart passes a server-side dry run with no
 *   warning, in a namespace labelled as the chart's README says (restricted Pod Security enforced),
 *   each pod template is admitted as a Pod; `helm install`/`helm upgrade` for real, and
 *   `kubectl auth can-i` as the controller answers what each configuration should grant; the
 *   controller itself does its job under the chart's default RBAC.
 *
 * As in deploy.int.test.ts: no kubelet runs here, so no pod starts and no image is pulled.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLAGS, loadConfig } from '../../src/config.js';
import {
  blockMentions,
  cleanupAll,
  CONTROLLER_USER,
  ingress,
  installGatewayApiCrds,
  kubeadmCorefile,
  makeTmpDir,
  markerBlock,
  readCorefile,
  REPO_ROOT,
  startControlPlane,
  startController,
  toolPath,
  waitFor,
  withLogs,
  type ControlPlane,
} from '../harness/index.js';
import { installDnsEndpointCrd } from '../harness/external-dns.js';
import {
  canI,
  createPodDryRun,
  dryRunName,
  fieldDifferences,
  kustomizeBaseWith,
  manifestId,
  podFromTemplate,
  readManifests,
  serverDryRun,
  type Manifest,
} from '../harness/manifests.js';

const run = promisify(execFile);

const CHART = join(REPO_ROOT, 'deploy/helm/hairpin-proxy');
const RELEASE = 'hairpin-proxy';
const NAMESPACE = 'hairpin-proxy';
/** What Helm adds and deploy/base does not have: the parity comparison takes these off. */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by'];
const HELM_ANNOTATIONS = ['checksum/config'];
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
/** A target whose upstream is the default ingress controller's: deploy/base's upstream Role covers it. */
const NGINX_TARGET = 'nginx=ingress-nginx/ingress-nginx-controller';

let tmpDir: string;
let helmBin: string;
let plane: ControlPlane;
/** `kubectl kustomize deploy/base`. */
let base: Manifest[];
let valuesFiles = 0;

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

async function helm(args: readonly string[], options: { allowFail?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(helmBin, args, {
      cwd: REPO_ROOT,
      maxBuffer: 16 << 20,
      timeout: 120_000,
      // Helm's own cache, config and data stay in the suite's temp dir.
      env: { ...process.env, HELM_CACHE_HOME: join(tmpDir, 'helm/cache'), HELM_CONFIG_HOME: join(tmpDir, 'helm/config'), HELM_DATA_HOME: join(tmpDir, 'helm/data') },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    if (!options.allowFail || typeof code !== 'number') throw new Error(`helm ${args.join(' ')} failed (exit ${code}): ${stderr ?? String(error)}`);
    return { code, stdout: stdout ?? '', stderr: stderr ?? '' };
  }
}

/** A values file (JSON is YAML): lists, booleans and nulls reach the chart with their types. */
function valuesFile(values: object): string {
  const path = join(tmpDir, `values-${++valuesFiles}.json`);
  writeFileSync(path, JSON.stringify(values));
  return path;
}

async function render(values: object = {}, namespace = NAMESPACE): Promise<Manifest[]> {
  const { stdout } = await helm(['template', RELEASE, CHART, '--namespace', namespace, '-f', valuesFile(values)]);
  return readManifests(stdout);
}

/** Helm's error for values the chart refuses. */
async function refusal(values: object): Promise<string> {
  const result = await helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, '-f', valuesFile(values)], { allowFail: true });
  expect(result.code).not.toBe(0);
  return result.stderr;
}

function find(objects: readonly Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map(manifestId).join(', ')}`);
  return found;
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}
function containers(workload: Manifest): Container[] {
  const spec = workload.spec?.template?.spec as { initContainers?: Container[]; containers: Container[] };
  return [...(spec.initContainers ?? []), ...spec.containers];
}
/** The controller container's args (the array itself: pushing to it changes the object). */
function controllerArgsOf(deployment: Manifest): string[] {
  const controller = containers(deployment).find((c) => c.name === 'controller');
  if (!controller?.args) throw new Error(`${manifestId(deployment)} has no controller container with args`);
  return controller.args;
}
function controllerArgs(objects: readonly Manifest[]): string[] {
  return controllerArgsOf(find(objects, 'Deployment', 'hairpin-proxy'));
}

/** The object without what only Helm adds (labels, the config checksum), for comparing with deploy/base. */
function withoutHelm(object: Manifest): Manifest {
  const copy = structuredClone(object);
  for (const metadata of [copy.metadata, copy.spec?.template?.metadata]) {
    if (!metadata) continue;
    for (const label of HELM_LABELS) delete metadata.labels?.[label];
    for (const annotation of HELM_ANNOTATIONS) delete metadata.annotations?.[annotation];
    if (metadata.annotations && Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  return copy;
}

/** One line per (role, verb, resource, name), as `kubectl auth can-i` would ask it. */
function grants(objects: readonly Manifest[]): Set<string> {
  const lines = new Set<string>();
  for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
    for (const rule of (role.rules ?? []) as Rule[]) {
      for (const group of rule.apiGroups ?? ['']) {
        for (const resource of rule.resources ?? []) {
          for (const name of rule.resourceNames ?? ['']) {
            for (const verb of rule.verbs) {
              lines.add(`${manifestId(role)}: ${verb} ${resource}${group ? `.${group}` : ''}${name ? `/${name}` : ''}`);
            }
          }
        }
      }
    }
  }
  return lines;
}

/** The configurations deploy/components install, and the chart's values for each. */
const COMPONENT_CONFIGURATIONS: ReadonlyArray<{ name: string; components: string[]; values: object }> = [
  { name: 'the default values', components: [], values: {} },
  { name: 'config.target', components: ['targets'], values: { config: { target: [NGINX_TARGET] } } },
  { name: 'coredns-mode corefile, node-local-dns off', components: ['coredns-corefile'], values: { config: { 'coredns-mode': 'corefile', 'node-local-dns': 'off' } } },
  { name: 'coredns-mode external-dns, node-local-dns off', components: ['external-dns'], values: { config: { 'coredns-mode': 'external-dns', 'node-local-dns': 'off' } } },
  {
    name: 'coredns-mode external-dns, node-local-dns off, config.target',
    components: ['external-dns', 'targets'],
    values: { config: { 'coredns-mode': 'external-dns', 'node-local-dns': 'off', target: [NGINX_TARGET] } },
  },
];

/** Every setting the chart's RBAC follows, each combination. */
const RBAC_CONFIGURATIONS: ReadonlyArray<{ name: string; values: object }> = ['auto', 'corefile', 'custom', 'external-dns'].flatMap((mode) =>
  ['auto', 'off'].flatMap((nodeLocal) =>
    [[], [NGINX_TARGET]].flatMap((target) =>
      [true, false].map((on) => ({
        name: `coredns-mode ${mode}, node-local-dns ${nodeLocal}, ${target.length} targets, leader-elect and manage-haproxy ${on}`,
        values: { config: { 'coredns-mode': mode, 'node-local-dns': nodeLocal, target, 'leader-elect': on, 'manage-haproxy': on }, controller: { replicas: on ? 2 : 1 } },
      })),
    ),
  ),
);

/**
 * An object as the parity test compares it: without Helm's labels, the rules of a Role as its
 * grants (any grouping of rules that grants the same is the same), the controller's flags as the
 * controller parses them (any order and spelling that means the same is the same).
 */
function comparable(object: Manifest): Manifest {
  const copy = withoutHelm(object);
  if (copy.kind === 'Role' || copy.kind === 'ClusterRole') copy.rules = [...grants([copy])].map((line) => line.split(': ')[1] ?? '').sort();
  if (copy.kind === 'Deployment' && copy.metadata.name === 'hairpin-proxy') {
    for (const container of (copy.spec?.template?.spec as { containers: Container[] }).containers) {
      const [command = '', ...flags] = container.args ?? [];
      if (container.name === 'controller') container.args = [command, JSON.stringify(loadConfig(flags, { POD_NAME: 'parity' }))];
    }
  }
  return copy;
}

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('helm-chart');
    helmBin = await toolPath('helm'); // HELM_VERSION in hack/versions.env
    plane = await startControlPlane({ tmpDir, audit: true });
    base = readManifests((await plane.kubectl(['kustomize', 'deploy/base'])).stdout);
  }),
  180_000,
);

afterAll(() => cleanupAll(), 60_000);

describe('helm lint', () => {
  it('is clean with --strict, for the default values and with every option on', async () => {
    const everything = valuesFile({
      config: { target: ['nginx=ingress-nginx/ingress-nginx-controller'], 'coredns-mode': 'external-dns' },
      serviceMonitor: { enabled: true },
      dashboard: { enabled: true },
      controller: { image: { digest: DIGEST } },
    });
    for (const args of [[], ['-f', everything]]) {
      const lint = await helm(['lint', '--strict', CHART, '--namespace', NAMESPACE, ...args], { allowFail: true });
      expect({ args, code: lint.code, output: lint.stdout + lint.stderr }).toEqual({ args, code: 0, output: expect.stringContaining('1 chart(s) linted, 0 chart(s) failed') });
      expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('refuses a config key that is not a controller flag (values.schema.json)', async () => {
    const lint = await helm(['lint', '--strict', CHART, '-f', valuesFile({ config: { 'ingress-clas': 'nginx' } })], { allowFail: true });
    expect(lint.code).not.toBe(0);
    expect(lint.stdout + lint.stderr).toMatch(/ingress-clas/);
  });
});

describe('parity with deploy/', () => {
  it.each(COMPONENT_CONFIGURATIONS)('renders deploy/base with $components for $name, field for field (Helm labels aside)', async ({ components, values }) => {
    const deploy = (await kustomizeBaseWith(plane, tmpDir, components)).filter((o) => o.kind !== 'Namespace');
    // deploy/components/targets leaves the --target values to its user ("add your --target values"): the chart's.
    if (components.includes('targets')) controllerArgsOf(find(deploy, 'Deployment', 'hairpin-proxy')).push(`--target=${NGINX_TARGET}`);
    const expected = deploy.map(comparable);
    const chart = (await render(values)).map(comparable);
    // The Namespace is deploy/base's alone: a chart installs into the release namespace (README).
    expect(chart.some((o) => o.kind === 'Namespace')).toBe(false);
    expect({ components, objects: chart.map(manifestId).sort() }).toEqual({ components, objects: expected.map(manifestId).sort() });
    const differences = expected.flatMap((object) => {
      const actual = chart.find((o) => manifestId(o) === manifestId(object));
      // Rules as sets of grants: a grant one side has and the other has not, by name.
      const [mine, theirs] = [new Set((object.rules ?? []) as string[]), new Set((actual?.rules ?? []) as string[])];
      const rules = [...[...mine].filter((g) => !theirs.has(g)).map((g) => `rules: only deploy/ grants ${g}`), ...[...theirs].filter((g) => !mine.has(g)).map((g) => `rules: only the chart grants ${g}`)];
      const rest = fieldDifferences({ ...object, rules: undefined }, actual && { ...actual, rules: undefined });
      return [...rules, ...rest].map((line) => `${manifestId(object)} ${line}`);
    });
    // Each line: OBJECT FIELD: deploy/'s value ≠ the chart's.
    expect({ components, 'deploy/ ≠ chart': differences }).toEqual({ components, 'deploy/ ≠ chart': [] });
  });

  it('grants, in every configuration, only what deploy/base and deploy/components grant', async () => {
    const documented = new Set<string>();
    for (const components of [[], ['targets'], ['external-dns']]) for (const line of grants(await kustomizeBaseWith(plane, tmpDir, components))) documented.add(line);
    for (const { name, values } of RBAC_CONFIGURATIONS) {
      const extra = [...grants(await render(values))].filter((line) => !documented.has(line));
      expect({ configuration: name, 'granted, not in deploy/': extra }).toEqual({ configuration: name, 'granted, not in deploy/': [] });
    }
  });

  it("keeps the HAProxy ConfigMap's files equal to deploy/base's (files/ is a copy)", async () => {
    // Part of the parity above; said here by name because files/ is where they would drift.
    expect(find(await render(), 'ConfigMap', 'hairpin-proxy-haproxy').data).toEqual(find(base, 'ConfigMap', 'hairpin-proxy-haproxy').data);
  });
});

describe('values', () => {
  /** The grants of one Role or ClusterRole, as `VERB RESOURCE[/NAME]`. */
  const grantsOf = (objects: readonly Manifest[], kind: string, name: string) =>
    [...grants(objects.filter((o) => o.kind === kind && o.metadata.name === name))].map((line) => line.split(': ')[1] ?? '').sort();
  const has = (objects: readonly Manifest[], kind: string, name: string) => objects.some((o) => o.kind === kind && o.metadata.name === name);
  const CORE_DNS = ['create configmaps', 'get configmaps/coredns', 'list configmaps/coredns', 'patch configmaps/coredns', 'watch configmaps/coredns'];

  it.each([
    ['auto', true],
    ['custom', true],
    ['corefile', false],
    ['external-dns', false],
  ])('coredns-mode %s: coredns-custom granted: %s; DNSEndpoints only in external-dns mode', async (mode, custom) => {
    const objects = await render({ config: { 'coredns-mode': mode, 'node-local-dns': 'off' } });
    // Every mode watches the Corefile and patches it: external-dns mode only to remove a block an
    // earlier mode wrote (deploy/components/external-dns). Never update: it patches, never replaces.
    expect(grantsOf(objects, 'Role', 'hairpin-proxy-coredns').filter((line) => line.includes('configmaps'))).toEqual(CORE_DNS);
    expect(grantsOf(objects, 'Role', 'hairpin-proxy-coredns-custom')).toEqual(custom ? ['delete configmaps/coredns-custom', 'get configmaps/coredns-custom', 'patch configmaps/coredns-custom'] : []);
    expect(has(objects, 'RoleBinding', 'hairpin-proxy-coredns-custom')).toBe(custom);
    expect(grantsOf(objects, 'Role', 'hairpin-proxy').filter((line) => line.includes('dnsendpoints'))).toEqual(
      mode === 'external-dns' ? ['create dnsendpoints.externaldns.k8s.io', 'delete dnsendpoints.externaldns.k8s.io', 'list dnsendpoints.externaldns.k8s.io', 'patch dnsendpoints.externaldns.k8s.io'] : [],
    );
  });

  it('grants node-local-dns only with node-local-dns auto (the default), and follows the CoreDNS names it is given', async () => {
    expect(grantsOf(await render(), 'Role', 'hairpin-proxy-node-local-dns')).toEqual(['get configmaps/node-local-dns', 'patch configmaps/node-local-dns']);
    expect(has(await render({ config: { 'node-local-dns': 'off' } }), 'Role', 'hairpin-proxy-node-local-dns')).toBe(false);
    const renamed = await render({ config: { 'coredns-namespace': 'dns', 'coredns-configmap': 'coredns-main', 'coredns-custom-configmap': 'coredns-extra' } });
    for (const name of ['hairpin-proxy-coredns', 'hairpin-proxy-coredns-custom', 'hairpin-proxy-node-local-dns']) {
      expect(find(renamed, 'Role', name).metadata.namespace).toBe('dns');
      expect(find(renamed, 'RoleBinding', name).metadata.namespace).toBe('dns');
    }
    expect(grantsOf(renamed, 'Role', 'hairpin-proxy-coredns')).toContain('patch configmaps/coredns-main');
    expect(grantsOf(renamed, 'Role', 'hairpin-proxy-coredns-custom')).toContain('patch configmaps/coredns-extra');
  });

  it('reads Gateway API routes and manages per-upstream Services only when config.target names an upstream, and reads each upstream in its namespace', async () => {
    const gatewayApi = (objects: readonly Manifest[]) => grantsOf(objects, 'ClusterRole', 'hairpin-proxy').filter((line) => line.includes('gateway.networking.k8s.io'));
    const services = (objects: readonly Manifest[]) => grantsOf(objects, 'Role', 'hairpin-proxy').filter((line) => / services$/.test(line));
    const without = await render();
    expect([gatewayApi(without), services(without)]).toEqual([[], []]);
    const target = [NGINX_TARGET, 'eg,gateway/infra/internal=envoy-gateway-system/envoy-infra-public:v2', 'cilium=kube-system/cilium-gateway-main'];
    const withTargets = await render({ config: { target } });
    expect(gatewayApi(withTargets)).toEqual(['gateways', 'grpcroutes', 'httproutes', 'tlsroutes'].flatMap((kind) => ['list', 'watch'].map((verb) => `${verb} ${kind}.gateway.networking.k8s.io`)).sort());
    expect(services(withTargets)).toEqual(['create services', 'delete services', 'get services', 'list services', 'patch services']);
    // One Role hairpin-proxy-upstream per upstream namespace, for its Services by name.
    const upstream = withTargets.filter((o) => o.kind === 'Role' && o.metadata.name === 'hairpin-proxy-upstream');
    expect(Object.fromEntries(upstream.map((role) => [role.metadata.namespace, [...grants([role])].filter((l) => l.includes(': get services/')).map((l) => l.split('/').at(-1))]))).toEqual({
      'ingress-nginx': ['ingress-nginx-controller'],
      'envoy-gateway-system': ['envoy-infra-public'],
      'kube-system': ['cilium-gateway-main'],
    });
    expect(controllerArgs(withTargets)).toEqual(['run', ...target.map((t) => `--target=${t}`)]);
  });

  it('drops the Lease grants without leader election, the Secret grants without manage-haproxy, and refuses leader election off with more than one replica', async () => {
    const on = grantsOf(await render(), 'Role', 'hairpin-proxy');
    expect(on).toEqual(expect.arrayContaining(['create leases.coordination.k8s.io', 'update leases.coordination.k8s.io/hairpin-proxy', 'create secrets', 'get secrets/hairpin-proxy-dataplane']));
    const off = grantsOf(await render({ config: { 'leader-elect': false, 'manage-haproxy': false }, controller: { replicas: 1 } }), 'Role', 'hairpin-proxy');
    expect(off.filter((line) => line.includes('leases') || line.includes('secrets'))).toEqual([]);
    expect(grantsOf(await render({ config: { 'dataplane-secret': 'hp-password' } }), 'Role', 'hairpin-proxy')).toContain('get secrets/hp-password');
    expect(await refusal({ config: { 'leader-elect': false } })).toMatch(/leader-elect is false with controller.replicas > 1/);
  });

  it('renders a ServiceMonitor and the metrics Service it selects with serviceMonitor.enabled, and none by default', async () => {
    expect((await render()).filter((o) => o.kind === 'ServiceMonitor' || o.metadata.name === 'hairpin-proxy-metrics')).toEqual([]);
    const objects = await render({ serviceMonitor: { enabled: true, interval: '30s', labels: { release: 'prometheus' } } });
    const monitor = find(objects, 'ServiceMonitor', 'hairpin-proxy');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels?.release).toBe('prometheus');
    const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string; interval: string }> };
    expect(spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    const service = find(objects, 'Service', 'hairpin-proxy-metrics');
    for (const [key, value] of Object.entries(spec.selector.matchLabels)) expect(service.metadata.labels?.[key]).toBe(value);
    // The Service selects the controller's pods, on their metrics port.
    const podLabels = find(objects, 'Deployment', 'hairpin-proxy').spec?.template?.metadata?.labels ?? {};
    for (const [key, value] of Object.entries(service.spec?.selector as Record<string, string>)) expect(podLabels[key]).toBe(value);
    expect(service.spec?.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
    expect(await refusal({ serviceMonitor: { enabled: true }, config: { 'listen-address': 'off' } })).toMatch(/listen-address is off/);
  });

  it('renders the Grafana dashboard ConfigMap, labelled for the sidecar, with dashboard.enabled', async () => {
    expect((await render()).some((o) => o.metadata.name === 'hairpin-proxy-dashboard')).toBe(false);
    const configMap = find(await render({ dashboard: { enabled: true, namespace: 'monitoring' } }), 'ConfigMap', 'hairpin-proxy-dashboard');
    expect(configMap.metadata.namespace).toBe('monitoring');
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    const json = JSON.parse((configMap.data as Record<string, string>)['hairpin-proxy.json'] ?? '') as { uid: string; panels: unknown[] };
    expect(json.uid).toBe('hairpin-proxy');
    expect(json.panels.length).toBeGreaterThan(5);
  });

  it('pins images by digest when one is set (repository@sha256:…, the tag ignored), and refuses a malformed one', async () => {
    const images = (objects: readonly Manifest[]) =>
      objects.filter((o) => o.kind === 'Deployment').flatMap((d) => containers(d).map((c) => `${d.metadata.name}/${c.name} ${c.image}`));
    expect(images(await render())).toEqual([
      'hairpin-proxy/controller ghcr.io/hairpin-proxy/hairpin-proxy:0.1.0',
      'hairpin-haproxy/config haproxytech/haproxy-debian:3.0',
      'hairpin-haproxy/haproxy haproxytech/haproxy-debian:3.0',
      'hairpin-haproxy/dataplaneapi haproxytech/haproxy-debian:3.0',
    ]);
    const pinned = await render({
      controller: { image: { repository: 'registry.example/hairpin-proxy', tag: '9.9.9', digest: DIGEST } },
      haproxy: { image: { digest: DIGEST } },
    });
    expect(images(pinned)).toEqual([
      `hairpin-proxy/controller registry.example/hairpin-proxy@${DIGEST}`,
      `hairpin-haproxy/config haproxytech/haproxy-debian@${DIGEST}`,
      `hairpin-haproxy/haproxy haproxytech/haproxy-debian@${DIGEST}`,
      `hairpin-haproxy/dataplaneapi haproxytech/haproxy-debian@${DIGEST}`,
    ]);
    expect(await refusal({ controller: { image: { digest: 'sha256:abc' } } })).toMatch(/digest/);
  });

  it('follows config.haproxy-ports in the hairpin Service, the HAProxy ports, its readiness probe and the NetworkPolicy', async () => {
    const objects = await render({ config: { 'haproxy-ports': [8443, 80] } });
    expect((find(objects, 'Service', 'hairpin-proxy-haproxy').spec?.ports as Array<{ name: string; port: number }>).map((p) => `${p.name}:${p.port}`)).toEqual(['tcp-8443:8443', 'http:80', 'dataplane:5555']);
    const haproxy = containers(find(objects, 'Deployment', 'hairpin-haproxy')).find((c) => c.name === 'haproxy');
    expect(haproxy?.ports?.map((p) => `${p.name}:${p.containerPort}`)).toEqual(['tcp-8443:8443', 'http:80']);
    expect(haproxy?.readinessProbe).toEqual(expect.objectContaining({ tcpSocket: { port: 'http' } }));
    const policy = find(objects, 'NetworkPolicy', 'hairpin-proxy-haproxy').spec as { ingress: Array<{ ports: Array<{ port: number }> }> };
    expect(policy.ingress[0]?.ports.map((p) => p.port)).toEqual([8443, 80, 20000]);
    // Without 80, readiness waits on the first port.
    const noHttp = containers(find(await render({ config: { 'haproxy-ports': '443' } }), 'Deployment', 'hairpin-haproxy')).find((c) => c.name === 'haproxy');
    expect(noHttp?.readinessProbe).toEqual(expect.objectContaining({ tcpSocket: { port: 'https' } }));
  });

  it("follows config.listen-address in the controller's port and probes", async () => {
    const moved = containers(find(await render({ config: { 'listen-address': ':9090' } }), 'Deployment', 'hairpin-proxy'))[0];
    expect(moved?.ports).toEqual([{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    const off = containers(find(await render({ config: { 'listen-address': 'off' } }), 'Deployment', 'hairpin-proxy'))[0];
    expect([off?.ports, off?.livenessProbe, off?.readinessProbe]).toEqual([undefined, undefined, undefined]);
  });

  it('renders budgets, topology spread and scheduling for both Deployments, each on its own pods', async () => {
    const objects = await render({
      controller: { podDisruptionBudget: { maxUnavailable: 1 }, topologySpreadConstraints: [{ maxSkew: 2, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }], priorityClassName: 'system-cluster-critical', nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'dedicated', operator: 'Exists' }], podAnnotations: { team: 'platform' } },
      haproxy: { podDisruptionBudget: { enabled: false }, topologySpreadConstraints: [], affinity: { podAntiAffinity: {} } },
      imagePullSecrets: [{ name: 'mirror' }],
    });
    expect(find(objects, 'PodDisruptionBudget', 'hairpin-proxy').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'hairpin-proxy', 'app.kubernetes.io/component': 'controller' } } });
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'hairpin-haproxy')).toBe(false);
    const controllerPod = find(objects, 'Deployment', 'hairpin-proxy').spec?.template;
    expect(controllerPod?.spec.topologySpreadConstraints).toEqual([
      { maxSkew: 2, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'hairpin-proxy', 'app.kubernetes.io/component': 'controller' } } },
    ]);
    expect(controllerPod?.spec).toEqual(expect.objectContaining({ priorityClassName: 'system-cluster-critical', nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'dedicated', operator: 'Exists' }], imagePullSecrets: [{ name: 'mirror' }] }));
    expect(controllerPod?.metadata?.annotations).toEqual({ team: 'platform' });
    const haproxyPod = find(objects, 'Deployment', 'hairpin-haproxy').spec?.template?.spec;
    expect(haproxyPod?.topologySpreadConstraints).toBeUndefined();
    expect(haproxyPod).toEqual(expect.objectContaining({ affinity: { podAntiAffinity: {} }, imagePullSecrets: [{ name: 'mirror' }] }));
  });

  it('installs into another namespace: objects, RBAC subjects and --target-namespace follow it', async () => {
    const objects = await render({}, 'infra');
    expect(objects.filter((o) => o.metadata.namespace !== undefined && o.metadata.namespace !== 'kube-system').map((o) => o.metadata.namespace)).toEqual(expect.arrayContaining(['infra']));
    expect(objects.filter((o) => o.metadata.namespace === NAMESPACE).map(manifestId)).toEqual([]);
    for (const binding of objects.filter((o) => o.kind.endsWith('Binding'))) expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'hairpin-proxy', namespace: 'infra' }]);
    expect(controllerArgs(objects)).toEqual(['run', '--target-namespace=infra']);
  });

  it('refuses what it cannot honour: another hairpin Service, namespace or install name, a password in the Deployment', async () => {
    expect(await refusal({ config: { 'target-namespace': 'elsewhere' } })).toMatch(/target-namespace/);
    expect(await refusal({ config: { 'target-service': 'other' } })).toMatch(/target-service/);
    expect(await refusal({ config: { 'dataplane-password': 'secret' } })).toMatch(/dataplane-password/);
    expect(await refusal({ config: { 'install-name': 'hairpin' } })).toMatch(/install-name/);
    expect(await refusal({ config: { 'coredns-mode': 'sometimes' } })).toMatch(/coredns-mode/);
  });

  it("renders every config key as flags the controller's own parser takes, with the values given", async () => {
    const every: Record<string, unknown> = {
      kubeconfig: '/etc/hairpin/kubeconfig',
      'ingress-class': ['nginx', 'internal'],
      target: ['nginx,internal=ingress-nginx/ingress-nginx-controller', 'eg,gateway/infra/internal=envoy-gateway-system/envoy-infra-public:v2'],
      'opt-in': true,
      'rewrite-when-ipmode-proxy': true,
      'gateway-api-recheck': '2m',
      'target-service': 'hairpin-proxy-haproxy',
      'target-namespace': NAMESPACE,
      'cluster-domain': 'cluster.example',
      'coredns-namespace': 'dns',
      'coredns-configmap': 'coredns-main',
      'coredns-key': 'Corefile.main',
      'coredns-mode': 'custom',
      'coredns-custom-configmap': 'coredns-extra',
      'node-local-dns': 'off',
      'write-interval': '500ms',
      resync: '10m',
      'listen-address': ':9090',
      'log-level': 'debug',
      once: false,
      'dry-run': false,
      'install-name': 'hairpin-proxy',
      'leader-elect': true,
      'leader-election-lease': '20s',
      'manage-haproxy': true,
      'ingress-controller': 'ingress/ingress-nginx-controller',
      'haproxy-ports': [80, 443, 8443],
      'proxy-protocol': 'v2',
      'clusterip-fallback': true,
      'dataplane-url': ['http://10.0.0.5:5555/v3', 'http://10.0.0.6:5555/v3'],
      'dataplane-port': 5556,
      'dataplane-username': 'hairpin',
      // Refused when set (it would sit in the Deployment): see above.
      'dataplane-password': null,
      'dataplane-secret': 'hp-password',
    };
    expect(Object.keys(every).sort()).toEqual(FLAGS.map((f) => f.name).sort());
    const objects = await render({ config: every });
    const [command, ...args] = controllerArgs(objects);
    expect(command).toBe('run');
    const config = loadConfig(args, {});
    expect(config).toEqual(
      expect.objectContaining({
        kubeconfig: '/etc/hairpin/kubeconfig',
        ingressClasses: ['nginx', 'internal'],
        optIn: true,
        rewriteWhenIpModeProxy: true,
        gatewayApiRecheckMs: 120_000,
        targetNamespace: NAMESPACE,
        clusterDomain: 'cluster.example',
        corednsNamespace: 'dns',
        corednsConfigMap: 'coredns-main',
        corednsKey: 'Corefile.main',
        corednsMode: 'custom',
        corednsCustomConfigMap: 'coredns-extra',
        nodeLocalDns: 'off',
        writeIntervalMs: 500,
        resyncMs: 600_000,
        listenAddress: { host: '0.0.0.0', port: 9090 },
        logLevel: 'debug',
        once: false,
        dryRun: false,
        ingressController: { namespace: 'ingress', name: 'ingress-nginx-controller' },
        haproxyPorts: [80, 443, 8443],
        proxyProtocol: 'v2',
      }),
    );
    expect(config.targets.map((t) => [t.keys.length, `${t.upstream.namespace}/${t.upstream.name}`, t.proxyProtocol])).toEqual([
      [2, 'ingress-nginx/ingress-nginx-controller', undefined],
      [2, 'envoy-gateway-system/envoy-infra-public', 'v2'],
    ]);
    expect(config.leaderElection?.leaseDurationMs).toBe(20_000);
    expect(config.installName).toBe('hairpin-proxy');
    expect(config.haproxy).toEqual(
      expect.objectContaining({ clusterIpFallback: true, dataplaneUrls: ['http://10.0.0.5:5555/v3', 'http://10.0.0.6:5555/v3'], dataplanePort: 5556, dataplaneUsername: 'hairpin', dataplaneSecret: 'hp-password' }),
    );
    // The HAProxy pods read the password from the Secret the controller keeps it in.
    const api = (find(objects, 'Deployment', 'hairpin-haproxy').spec?.template?.spec as { containers: Array<{ name: string; env?: unknown[] }> }).containers.find((c) => c.name === 'dataplaneapi');
    expect(api?.env).toEqual([{ name: 'HAIRPIN_DATAPLANE_PASSWORD', valueFrom: { secretKeyRef: { name: 'hp-password', key: 'password', optional: false } } }]);

    // false gives --no-FLAG, which turns off what is on by default.
    const [, ...off] = controllerArgs(await render({ config: { 'leader-elect': false, 'manage-haproxy': false, 'opt-in': false }, controller: { replicas: 1 } }));
    expect(off).toEqual(['--no-leader-elect', '--no-manage-haproxy', '--no-opt-in']);
    expect(loadConfig(off, {})).toEqual(expect.objectContaining({ leaderElection: undefined, haproxy: undefined, optIn: false }));
  });
});

describe('on a real kube-apiserver', () => {
  /** deploy/base's Pod Security labels, which the chart's README has the user set. */
  const podSecurityLabels = () =>
    Object.fromEntries(Object.entries(find(base, 'Namespace', NAMESPACE).metadata.labels ?? {}).filter(([key]) => key.startsWith('pod-security.kubernetes.io/')));

  beforeAll(
    withLogs(async () => {
      // The namespace as the chart's README creates it.
      const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
      for (const prefix of ['kubectl create namespace ', 'kubectl label namespace ']) {
        const line = readme.split('\n').find((l) => l.startsWith(prefix));
        if (!line) throw new Error(`the chart's README has no "${prefix}…" line`);
        await plane.kubectl(line.split(' ').slice(1));
      }
      // The upstreams' namespaces (the chart grants reads of their Services there) and a team's.
      for (const name of ['ingress-nginx', 'envoy-gateway-system', 'team-a']) await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      // kubectl auth can-i resolves a resource through discovery: the kinds it asks about must be served.
      await installGatewayApiCrds(plane, { channel: 'standard', kinds: ['Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute'] });
      await installDnsEndpointCrd(plane);
    }),
    180_000,
  );

  it('the namespace, labelled as the README says, enforces what deploy/base/namespace.yaml does', async () => {
    const namespace = await plane.getJson<{ metadata: { labels: Record<string, string> } }>(['namespace', NAMESPACE]);
    expect(namespace.metadata.labels).toEqual(expect.objectContaining(podSecurityLabels()));
  });

  it(
    'takes the default rendering, and one with every option, in a server-side dry run: no error, no warning, each pod template admitted under restricted',
    withLogs(async () => {
      const everything = {
        config: { target: [NGINX_TARGET, 'eg=envoy-gateway-system/envoy-infra-public:v2'], 'coredns-mode': 'external-dns', 'haproxy-ports': [80, 443, 8443], 'listen-address': ':9090' },
        controller: { image: { digest: DIGEST }, podAnnotations: { team: 'platform' }, env: [{ name: 'HAIRPIN_LOG_LEVEL', value: 'debug' }] },
        haproxy: { image: { digest: DIGEST }, podDisruptionBudget: { maxUnavailable: 1 } },
        dashboard: { enabled: true },
        // The ServiceMonitor's CRD is not installed here; its metrics Service is.
        serviceMonitor: { enabled: true },
      };
      for (const [name, values] of [['defaults', {}], ['every option', everything]] as const) {
        const objects = (await render(values)).filter((o) => o.kind !== 'ServiceMonitor');
        const dryRun = await serverDryRun(plane, objects);
        expect({ name, code: dryRun.code, stderr: dryRun.stderr, notDryRun: dryRun.notDryRun }).toEqual({ name, code: 0, stderr: '', notDryRun: [] });
        for (const object of objects) expect(dryRun.stdout).toContain(dryRunName(object));
        for (const workload of objects.filter((o) => o.kind === 'Deployment')) {
          const admitted = await createPodDryRun(plane, podFromTemplate(workload));
          expect({ name, workload: workload.metadata.name, code: admitted.code, stderr: admitted.stderr }).toEqual({ name, workload: workload.metadata.name, code: 0, stderr: '' });
        }
      }
      // Control: the same HAProxy pod as root is refused, so the namespace really enforces.
      const root = podFromTemplate(find(await render(), 'Deployment', 'hairpin-haproxy'), {
        mutate: (spec) => Object.assign(spec, { securityContext: { ...(spec.securityContext as object), runAsNonRoot: false, runAsUser: 0 } }),
      });
      const refused = await createPodDryRun(plane, root);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    }),
  );

  /** `helm upgrade --install` with exactly these values (--reset-values: an empty values file would reuse the last release's). */
  const install = (values: object) =>
    helm(['upgrade', '--install', '--reset-values', RELEASE, CHART, '--namespace', NAMESPACE, '-f', valuesFile(values), '--kubeconfig', plane.adminKubeconfigPath]);

  /** `kubectl auth can-i` as the controller, for a table of questions. */
  async function answers(questions: readonly string[]): Promise<Record<string, boolean>> {
    const result: Record<string, boolean> = {};
    for (const question of questions) result[question] = await canI(plane, CONTROLLER_USER, question.split(' '));
    return result;
  }
  const expectAnswers = async (yes: readonly string[], no: readonly string[]) => {
    const expected = Object.fromEntries([...yes.map((q) => [q, true]), ...no.map((q) => [q, false])]);
    expect(await answers([...yes, ...no])).toEqual(expected);
  };

  /** Asked in every configuration: what the controller always needs, and what it never gets. */
  const ALWAYS = [
    'list ingresses.networking.k8s.io --all-namespaces',
    'watch ingresses.networking.k8s.io --all-namespaces',
    'watch ingressclasses.networking.k8s.io',
    'get configmaps/coredns -n kube-system',
    'watch configmaps/coredns -n kube-system',
    'patch configmaps/coredns -n kube-system',
    'create events -n team-a',
    'get events -n team-a',
    'watch services/ingress-nginx-controller -n ingress-nginx',
    'watch endpointslices.discovery.k8s.io -n ingress-nginx',
    'watch endpointslices.discovery.k8s.io -n hairpin-proxy',
    // Removal: its own Deployment, read; the cleanup identity in kube-system, by name where RBAC allows.
    'get deployments.apps/hairpin-proxy -n hairpin-proxy',
    'create serviceaccounts/hairpin-proxy-cleanup --subresource=token -n kube-system',
    'update roles.rbac.authorization.k8s.io/hairpin-proxy-cleanup -n kube-system',
    'delete rolebindings.rbac.authorization.k8s.io/hairpin-proxy-cleanup -n kube-system',
  ];
  const NEVER = [
    'update configmaps/coredns -n kube-system',
    'delete configmaps/coredns -n kube-system',
    'update configmaps/kube-proxy -n kube-system',
    'list configmaps -n kube-system',
    'get secrets -n kube-system',
    'list secrets --all-namespaces',
    'get secrets/other -n hairpin-proxy',
    'update ingresses.networking.k8s.io -n team-a',
    'update leases.coordination.k8s.io/kube-scheduler -n kube-system',
    'watch services --all-namespaces',
    'watch endpointslices.discovery.k8s.io --all-namespaces',
    'create services -n team-a',
    'list dnsendpoints.externaldns.k8s.io -n team-a',
    'patch httproutes.gateway.networking.k8s.io -n team-a',
    'patch deployments.apps/hairpin-haproxy -n hairpin-proxy',
    'patch deployments.apps/hairpin-proxy -n hairpin-proxy',
    'create serviceaccounts/coredns --subresource=token -n kube-system',
    'create rolebindings.rbac.authorization.k8s.io -n team-a',
    'patch clusterrolebindings.rbac.authorization.k8s.io/cluster-admin',
  ];

  it.each([
    {
      name: 'the default values',
      values: {},
      yes: [
        'patch configmaps/coredns-custom -n kube-system',
        'create configmaps -n kube-system',
        'patch configmaps/node-local-dns -n kube-system',
        'update leases.coordination.k8s.io/hairpin-proxy -n hairpin-proxy',
        'get secrets/hairpin-proxy-dataplane -n hairpin-proxy',
        'create secrets -n hairpin-proxy',
      ],
      no: [
        'watch httproutes.gateway.networking.k8s.io --all-namespaces',
        'watch gateways.gateway.networking.k8s.io --all-namespaces',
        'create services -n hairpin-proxy',
        'list dnsendpoints.externaldns.k8s.io -n hairpin-proxy',
        'update leases.coordination.k8s.io/other -n hairpin-proxy',
        'watch services/envoy-infra-public -n envoy-gateway-system',
      ],
    },
    {
      name: 'coredns-mode external-dns, node-local-dns off, a target in another namespace',
      values: { config: { 'coredns-mode': 'external-dns', 'node-local-dns': 'off', target: ['eg=envoy-gateway-system/envoy-infra-public:v2'] } },
      yes: [
        'watch httproutes.gateway.networking.k8s.io --all-namespaces',
        'watch tlsroutes.gateway.networking.k8s.io --all-namespaces',
        'create services -n hairpin-proxy',
        'delete services -n hairpin-proxy',
        'list dnsendpoints.externaldns.k8s.io -n hairpin-proxy',
        'create dnsendpoints.externaldns.k8s.io -n hairpin-proxy',
        'watch services/envoy-infra-public -n envoy-gateway-system',
        'watch endpointslices.discovery.k8s.io -n envoy-gateway-system',
      ],
      no: [
        'get configmaps/coredns-custom -n kube-system',
        'get configmaps/node-local-dns -n kube-system',
        'watch services/other -n envoy-gateway-system',
      ],
    },
    {
      name: 'coredns-mode corefile without leader election or HAProxy management',
      values: { config: { 'coredns-mode': 'corefile', 'leader-elect': false, 'manage-haproxy': false }, controller: { replicas: 1 } },
      yes: ['patch configmaps/node-local-dns -n kube-system'],
      no: [
        'get configmaps/coredns-custom -n kube-system',
        'update leases.coordination.k8s.io/hairpin-proxy -n hairpin-proxy',
        'create leases.coordination.k8s.io -n hairpin-proxy',
        'get secrets/hairpin-proxy-dataplane -n hairpin-proxy',
        'create secrets -n hairpin-proxy',
      ],
    },
  ])(
    'installed with helm ($name), the controller can do what that configuration needs and no more',
    async ({ values, yes, no }) => {
      await install(values);
      await expectAnswers([...ALWAYS, ...yes], [...NEVER, ...no]);
    },
  );

  it(
    "does its whole job under the chart's default RBAC: the controller routes a host, and nothing it asks is refused but its one look for another mode's DNSEndpoints",
    withLogs(async () => {
      await install({});
      await plane.apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'coredns', namespace: 'kube-system' },
        data: { Corefile: kubeadmCorefile({ health: 8080, ready: 8181, metrics: 9153 }) },
      });
      const since = plane.auditEvents().length;
      const controller = await startController({ controlPlane: plane, tmpDir, args: controllerArgs(await render()).slice(1) });
      await plane.apply(ingress({ name: 'shop', namespace: 'team-a', hosts: ['shop.example.com'] }));
      await waitFor(async () => blockMentions(markerBlock(await readCorefile(plane)), 'shop.example.com'), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: "shop.example.com to be routed by the controller under the chart's RBAC",
      });
      await controller.process.stop();
      const requests = plane.auditEvents().slice(since).filter((e) => e.user.username === CONTROLLER_USER);
      const refused = requests.filter((e) => e.responseStatus?.code === 401 || e.responseStatus?.code === 403);
      // One refusal is by design: a new process looks once for DNSEndpoints an earlier external-dns
      // mode left (src/reconcile/controller.ts #writeDns), where the CRD is served, and takes the
      // refusal as "none" (this mode is not granted them). Nothing else.
      const expectedLook = (e: (typeof refused)[number]) => e.verb === 'list' && e.objectRef?.resource === 'dnsendpoints' && e.objectRef.namespace === NAMESPACE;
      expect(refused.filter((e) => !expectedLook(e)).map((e) => `${e.verb} ${e.requestURI} → ${e.responseStatus?.code}`)).toEqual([]);
      expect(refused.filter(expectedLook).length).toBeLessThanOrEqual(1);
      expect(requests.some((e) => e.verb === 'update' || e.verb === 'patch')).toBe(true);
    }),
  );
});
