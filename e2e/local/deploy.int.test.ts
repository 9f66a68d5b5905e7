/**
 * deploy/ as a user installs it (`kubectl apply -k deploy/base`, or `-f deploy/deploy.yml`),
 * checked against the real kube-apiserver of the shared harness, with the restricted Pod Security
 * Standard really enforced on the namespace.
 *
 * What this can prove, and what it cannot: the harness runs etcd + kube-apiserver only, with no
 * controller-manager, scheduler or kubelet, and this machine has no Docker. So no Deployment gets a
 * Pod and no image runs here. What is proven is everything the apiserver decides: every object is
 * valid and admitted (server-side dry run), PodSecurity admits each pod template as a Pod (enforce,
 * not just the warnings Deployments get) and refuses a control that breaks it, and the rendered
 * deploy/deploy.yml holds the objects `kubectl kustomize deploy/base` renders.
 * Beyond the apiserver, the hairpin HAProxy pod's own commands run here as local processes: the
 * init container's script, HAProxy with the container's arguments (Debian's HAProxy 2.6, not the
 * image's 3.0) and the Data Plane API v3.0.23 (the version haproxytech/haproxy-debian:3.0 bundles)
 * with the ConfigMap's files, the pod's paths moved into a temp dir. That shows the password comes
 * from the Secret's variable, and that reloads work in that layout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLAGS } from '../../src/config.js';
import { HarnessDataPlaneClient } from '../harness/dataplane-client.js';
import { dataplaneConfigYaml, haproxyBaseConfig, reloadScript } from '../harness/dataplane-config.js';
import { DATAPLANE_PORT_NAME } from '../../src/haproxy/replicas.js';
import { PASSWORD_KEY } from '../../src/kube/dataplane-secret.js';
import {
  cleanupAll,
  dataplaneTools,
  freePort,
  makeTmpDir,
  REPO_ROOT,
  startControlPlane,
  startProcess,
  toolPath,
  waitFor,
  withLogs,
  type ControlPlane,
} from '../harness/index.js';
import { podFromTemplate, readManifests, type Manifest } from '../harness/manifests.js';

const tools = await dataplaneTools();
if (!tools.ok) console.warn(`deploy: the local HAProxy + Data Plane API run is skipped: ${tools.reason}`);

/** The hairpin HAProxy pod's shared emptyDir and the ConfigMap's mount (deploy/base/haproxy.yaml). */
const POD_DIR = '/run/hairpin-haproxy';
const CONFIGMAP_DIR = '/etc/hairpin-haproxy';
const PASSWORD_VARIABLE = 'HAIRPIN_DATAPLANE_PASSWORD';

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  [key: string]: unknown;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec }; ports?: Array<{ name?: string; port: number }> } & Record<string, unknown>;
  data?: Record<string, string>;
}

let plane: ControlPlane;
let tmpDir: string;
/** `kubectl kustomize deploy/base`, as this machine's kubectl renders it. */
let rendered: string;
let objects: K8sObject[];

function find(kind: string, name: string): K8sObject {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`deploy/base renders no ${kind} ${name}; it has: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return object;
}

function podSpec(kind: string, name: string): PodSpec {
  const spec = find(kind, name).spec?.template?.spec;
  if (!spec) throw new Error(`${kind} ${name} has no pod template`);
  return spec;
}

function container(spec: PodSpec, name: string): Container {
  const found = [...(spec.initContainers ?? []), ...spec.containers].find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

/** The ConfigMap's files, exactly as the project's tested local configuration builds them. */
function expectedHaproxyFiles(): Record<string, string> {
  return {
    'haproxy.cfg': haproxyBaseConfig({ runtimeSocket: `${POD_DIR}/runtime.sock` }),
    'reload.sh': reloadScript({ masterSocket: `${POD_DIR}/master.sock` }),
    'dataplaneapi.yaml': dataplaneConfigYaml({
      host: '0.0.0.0',
      port: 5555,
      username: 'admin',
      // The API reads the password from this variable ("${…}", quotes included): no secret here.
      password: `"\${${PASSWORD_VARIABLE}}"`,
      configFile: `${POD_DIR}/haproxy.cfg`,
      haproxyBin: '/usr/local/sbin/haproxy',
      reloadScriptPath: `${POD_DIR}/reload.sh`,
      stateDir: `${POD_DIR}/state`,
    }),
  };
}

/** A Pod made from a workload's pod template, for PodSecurity's enforce path (e2e/harness/manifests.ts). */
function podFrom(workload: K8sObject, mutate: (spec: PodSpec) => void = () => {}): object {
  return podFromTemplate(workload as unknown as Manifest, { namespace: 'hairpin-proxy', mutate: (spec) => mutate(spec as PodSpec) });
}

function readYamlObjects(text: string): K8sObject[] {
  return readManifests(text) as unknown as K8sObject[];
}

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('deploy');
    plane = await startControlPlane({ tmpDir });
    rendered = (await plane.kubectl(['kustomize', 'deploy/base'])).stdout;
    objects = readYamlObjects(rendered);
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

describe('deploy/deploy.yml', () => {
  // Objects, not bytes: another kubectl's Kustomize formats the same objects differently, and a
  // fresh machine may have another kubectl.
  it('is its comment header and then the objects `kubectl kustomize deploy/base` renders', () => {
    const file = readFileSync(join(REPO_ROOT, 'deploy/deploy.yml'), 'utf8');
    const header = /^(?:#[^\n]*\n)*/.exec(file)?.[0] ?? '';
    expect(header).toContain('`kubectl kustomize deploy/base`');
    const stale = 'deploy/deploy.yml is stale: re-render it with `bash hack/render-deploy.sh`';
    expect({ [stale]: readYamlObjects(file.slice(header.length)) }).toEqual({ [stale]: objects });
  });
});

describe('deploy/base', () => {
  it('has what a user needs, wired together', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ClusterRole/hairpin-proxy',
        'ClusterRoleBinding/hairpin-proxy',
        'ConfigMap/hairpin-proxy-haproxy',
        'Deployment/hairpin-proxy',
        'Deployment/hairpin-haproxy',
        'Namespace/hairpin-proxy',
        'NetworkPolicy/hairpin-proxy-haproxy',
        'PodDisruptionBudget/hairpin-haproxy',
        'PodDisruptionBudget/hairpin-proxy',
        'Role/hairpin-proxy',
        'Role/hairpin-proxy-coredns',
        'Role/hairpin-proxy-coredns-custom',
        'Role/hairpin-proxy-node-local-dns',
        'Role/hairpin-proxy-upstream',
        'RoleBinding/hairpin-proxy',
        'RoleBinding/hairpin-proxy-coredns',
        'RoleBinding/hairpin-proxy-coredns-custom',
        'RoleBinding/hairpin-proxy-node-local-dns',
        'RoleBinding/hairpin-proxy-upstream',
        'Service/hairpin-proxy-haproxy',
        'ServiceAccount/hairpin-proxy',
      ].sort(),
    );
    const defaults = Object.fromEntries(FLAGS.map((f) => [f.name, f.default]));
    // No Secret: a generated one would put a fixed password into git. The controller creates it.
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(defaults['dataplane-secret']).toBe('hairpin-proxy-dataplane');
    // Not the original Ruby project's names: its Deployment hairpin-proxy-haproxy (another,
    // immutable selector) and Service hairpin-proxy live in this same namespace.
    for (const original of ['Deployment/hairpin-proxy-haproxy', 'Deployment/hairpin-proxy-controller', 'Service/hairpin-proxy']) {
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).not.toContain(original);
    }
    // The install's objects carry --install-name's default, which removal (src/kube/removal.ts) guards.
    expect(defaults['install-name']).toBe('hairpin-proxy');
    for (const kind of ['Deployment', 'ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']) find(kind, 'hairpin-proxy');
    // Availability: at most one replica of each down in a drain, spread over nodes, and HAProxy
    // rollouts never lower the serving count.
    for (const [budget, deployment] of [['hairpin-haproxy', 'hairpin-haproxy'], ['hairpin-proxy', 'hairpin-proxy']] as const) {
      const pdb = find('PodDisruptionBudget', budget).spec as { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      expect(pdb.minAvailable).toBe(1);
      expect(Object.entries(pdb.selector.matchLabels).every(([k, v]) => find('Deployment', deployment).spec?.template?.metadata?.labels?.[k] === v)).toBe(true);
      expect(JSON.stringify(podSpec('Deployment', deployment).topologySpreadConstraints)).toContain('kubernetes.io/hostname');
    }
    expect((find('Deployment', 'hairpin-haproxy').spec as { strategy?: unknown }).strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });

    // The controller's defaults point at this Service, and discovery finds the API port by name.
    const service = find('Service', defaults['target-service'] ?? '');
    expect(service.metadata.namespace).toBe(defaults['target-namespace']);
    expect(service.spec?.ports?.map((p) => `${p.name}:${p.port}`)).toEqual(['http:80', 'https:443', `${DATAPLANE_PORT_NAME}:5555`]);
    expect(String(defaults['haproxy-ports']).split(',').map(Number)).toEqual([80, 443]);

    const controller = find('Deployment', 'hairpin-proxy');
    // A leader and a standby (--leader-elect is on by default), each named by its pod.
    expect(controller.spec?.replicas).toBe(2);
    expect(defaults['leader-elect']).toBe('true');
    expect(container(podSpec('Deployment', 'hairpin-proxy'), 'controller').env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    const haproxyPod = podSpec('Deployment', 'hairpin-haproxy');
    expect(container(haproxyPod, 'dataplaneapi').ports).toEqual([expect.objectContaining({ name: DATAPLANE_PORT_NAME, containerPort: 5555 })]);
    expect(container(podSpec('Deployment', 'hairpin-proxy'), 'controller').image).toBe('ghcr.io/hairpin-proxy/hairpin-proxy:0.1.0');
    for (const c of [...(haproxyPod.initContainers ?? []), ...haproxyPod.containers]) expect(c.image).toBe('haproxytech/haproxy-debian:3.0');

    // The Data Plane API reads the Secret the controller creates (the same name and key), and waits for it.
    expect(container(haproxyPod, 'dataplaneapi').env).toContainEqual({
      name: PASSWORD_VARIABLE,
      valueFrom: { secretKeyRef: { name: defaults['dataplane-secret'], key: PASSWORD_KEY, optional: false } },
    });
    expect(container(podSpec('Deployment', 'hairpin-proxy'), 'controller').env?.some((e) => e.name === PASSWORD_VARIABLE)).toBe(false);
    // The NetworkPolicy selects the HAProxy pods, and lets only the controller's pods reach 5555.
    interface Rule {
      from?: Array<{ podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown }>;
      ports?: Array<{ port: number }>;
    }
    const policy = find('NetworkPolicy', 'hairpin-proxy-haproxy').spec as { podSelector: { matchLabels: Record<string, string> }; ingress: Rule[] };
    const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
      selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
    expect(matches(policy.podSelector.matchLabels, find('Deployment', 'hairpin-haproxy').spec?.template?.metadata?.labels)).toBe(true);
    const apiRules = policy.ingress.filter((rule) => rule.ports?.some((p) => p.port === 5555));
    expect(apiRules).toHaveLength(1);
    expect(apiRules[0]?.from).toHaveLength(1);
    expect(apiRules[0]?.from?.[0]?.namespaceSelector).toBeUndefined(); // this namespace only
    expect(matches(apiRules[0]?.from?.[0]?.podSelector?.matchLabels, controller.spec?.template?.metadata?.labels)).toBe(true);
    expect(matches(apiRules[0]?.from?.[0]?.podSelector?.matchLabels, find('Deployment', 'hairpin-haproxy').spec?.template?.metadata?.labels)).toBe(false);
  });

  it('configures HAProxy and its Data Plane API exactly as the project tests them, at the pod paths', () => {
    expect(find('ConfigMap', 'hairpin-proxy-haproxy').data).toEqual(expectedHaproxyFiles());
    expect(find('ConfigMap', 'hairpin-proxy-haproxy').data?.['dataplaneapi.yaml']).not.toMatch(/example-only|[0-9a-f]{48}/);
    const pod = podSpec('Deployment', 'hairpin-haproxy');
    expect(container(pod, 'haproxy').args).toEqual(expect.arrayContaining(['-W', '-S', `${POD_DIR}/master.sock`, '-f', `${POD_DIR}/haproxy.cfg`]));
    expect([...(container(pod, 'dataplaneapi').command ?? []), ...(container(pod, 'dataplaneapi').args ?? [])]).toEqual([
      '/usr/local/bin/dataplaneapi',
      '-f',
      `${POD_DIR}/dataplaneapi.yaml`,
    ]);
  });

  it(
    'installs under the enforced restricted Pod Security Standard (server-side dry run)',
    withLogs(async () => {
      // For real: the namespace with its PodSecurity labels. Nothing else is needed first, but the
      // ingress controller it forwards to is installed (its namespace holds the upstream Role).
      await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ingress-nginx' } });
      await plane.kubectl(['apply', '-f', 'deploy/base/namespace.yaml']);
      const namespace = await plane.getJson<{ metadata: { labels: Record<string, string> } }>(['namespace', 'hairpin-proxy']);
      expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');

      for (const source of [['-k', 'deploy/base'], ['-f', 'deploy/deploy.yml']]) {
        const dryRun = await plane.kubectl(['apply', '--dry-run=server', ...source], { allowFail: true });
        // No error, and no warning at all: PodSecurity warns about a Deployment's pod template.
        expect({ source, code: dryRun.code, stderr: dryRun.stderr }).toEqual({ source, code: 0, stderr: '' });
        expect(dryRun.stdout).not.toMatch(/PodSecurity|Warning/i);
        expect(dryRun.stdout.trim().split('\n').every((line) => line.endsWith('(server dry run)'))).toBe(true);
        if (source[0] === '-k') {
          for (const o of objects) {
            const kind = o.apiVersion.includes('/') ? `${o.kind.toLowerCase()}.${o.apiVersion.split('/')[0]}` : o.kind.toLowerCase();
            expect(dryRun.stdout).toContain(`${kind}/${o.metadata.name}`);
          }
        }
      }

      // Deployments only get warnings; a Pod is refused outright. Each pod template, as a Pod:
      for (const workload of [find('Deployment', 'hairpin-proxy'), find('Deployment', 'hairpin-haproxy')]) {
        const admitted = await plane.kubectl(['create', '--dry-run=server', '-f', '-'], { input: podFrom(workload), allowFail: true });
        expect({ workload: workload.metadata.name, code: admitted.code, stderr: admitted.stderr }).toEqual({ workload: workload.metadata.name, code: 0, stderr: '' });
      }
      // Controls: the same HAProxy pod is refused with an unsafe sysctl instead of the safe one,
      // or with root, so enforcement is real and the safe sysctl is what makes it pass.
      const controls: Array<[string, (spec: PodSpec) => void]> = [
        ['unsafe sysctl', (spec) => Object.assign(spec, { securityContext: { ...(spec.securityContext as object), sysctls: [{ name: 'net.core.somaxconn', value: '4096' }] } })],
        ['root', (spec) => Object.assign(spec, { securityContext: { ...(spec.securityContext as object), runAsNonRoot: false, runAsUser: 0 } })],
      ];
      for (const [what, mutate] of controls) {
        const refused = await plane.kubectl(['create', '--dry-run=server', '-f', '-'], { input: podFrom(find('Deployment', 'hairpin-haproxy'), mutate), allowFail: true });
        expect({ what, refused: refused.code !== 0 }).toEqual({ what, refused: true });
        expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
      }
    }),
  );
});

describe('deploy/node (hosts-file on every node)', () => {
  it(
    'installs in its own namespace, the only one whose Pod Security allows the hostPath, and its arguments are ones the command takes',
    withLogs(async () => {
      // For real: the namespace and its Pod Security labels; the rest as a server-side dry run.
      await plane.kubectl(['apply', '-f', 'deploy/node/namespace.yaml']);
      const dryRun = await plane.kubectl(['apply', '--dry-run=server', '-k', 'deploy/node'], { allowFail: true });
      // Admitted (enforce: privileged), with the one warning the namespace asks for (warn: baseline).
      expect(dryRun.code).toBe(0);
      expect(dryRun.stderr.trim()).toBe('Warning: would violate PodSecurity "baseline:latest": hostPath volumes (volume "etc-hosts")');
      for (const object of ['namespace/hairpin-proxy-node', 'clusterrole.rbac.authorization.k8s.io/hairpin-proxy-node', 'daemonset.apps/hairpin-proxy-node']) {
        expect(dryRun.stdout).toContain(object);
      }
      const rendered = readYamlObjects(execFileSync(await toolPath('kubectl'), ['kustomize', 'deploy/node'], { cwd: REPO_ROOT }).toString());
      const daemonSet = rendered.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { spec: PodSpec } } } | undefined;
      const args = daemonSet?.spec.template.spec.containers[0]?.args ?? [];
      expect(args.slice(0, 3)).toEqual(['hosts-file', '--hosts-path', '/host/etc/hosts']);
      // The same arguments, with --help, are accepted by the CLI (a bad flag would exit 2).
      const help = execFileSync(process.execPath, [join(REPO_ROOT, 'dist/cli.js'), ...args, '--help'], { cwd: REPO_ROOT }).toString();
      expect(help).toMatch(/hosts-file --hosts-path PATH/);
      // The same Pod in deploy/base's namespace is refused: the hostPath exception stays confined.
      await plane.kubectl(['apply', '-f', 'deploy/base/namespace.yaml']);
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hosts-file', namespace: 'hairpin-proxy' }, spec: daemonSet?.spec.template.spec };
      const refused = await plane.kubectl(['create', '--dry-run=server', '-f', '-'], { input: pod, allowFail: true });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/violates PodSecurity "restricted/);
    }),
  );
});

(tools.ok ? describe : describe.skip)('the hairpin HAProxy pod, its commands run as local processes', () => {
  it(
    'starts from the ConfigMap, takes the API password from the Secret variable only, and reloads',
    withLogs(async () => {
      if (!tools.ok) return;
      // The pod's two mounts, in the temp dir; every pod path in the files moves with them.
      const pod = join(tmpDir, 'pod');
      const run = join(pod, 'run');
      const configMap = join(pod, 'configmap');
      mkdirSync(run, { recursive: true });
      mkdirSync(configMap, { recursive: true });
      const port = await freePort();
      const local = (text: string) =>
        text
          .replaceAll(POD_DIR, run)
          .replaceAll(CONFIGMAP_DIR, configMap)
          .replaceAll('/usr/local/sbin/haproxy', tools.haproxy)
          .replace('host: "0.0.0.0"', 'host: "127.0.0.1"')
          .replace('port: 5555', `port: ${port}`);
      for (const [file, text] of Object.entries(find('ConfigMap', 'hairpin-proxy-haproxy').data ?? {})) writeFileSync(join(configMap, file), local(text));

      const spec = podSpec('Deployment', 'hairpin-haproxy');
      // The init container's script, as written.
      const init = container(spec, 'config');
      const [shell = '', ...shellArgs] = [...(init.command ?? []), ...(init.args ?? [])].map(local);
      execFileSync(shell, shellArgs, { timeout: 10_000, stdio: 'pipe' });

      const haproxy = container(spec, 'haproxy');
      startProcess({ name: 'pod-haproxy', command: tools.haproxy, args: (haproxy.args ?? []).map(local), logDir: tmpDir });
      await waitFor(() => existsSync(join(run, 'runtime.sock')), { timeoutMs: 10_000, what: 'the HAProxy runtime socket' });
      const password = `e2e-${Math.random().toString(16).slice(2)}`;
      const api = container(spec, 'dataplaneapi');
      startProcess({ name: 'pod-dataplaneapi', command: tools.dataplaneapi, args: (api.args ?? []).map(local), logDir: tmpDir, env: { [PASSWORD_VARIABLE]: password } });

      const url = `http://127.0.0.1:${port}/v3`;
      const status = async (user: string, pass: string) =>
        (await fetch(`${url}/info`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } })).status;
      await waitFor(() => status('admin', password).then((s) => s === 200, () => false), { timeoutMs: 40_000, what: 'the Data Plane API to accept the password from the variable' });
      expect(await status('admin', 'wrong')).toBe(401);
      expect(await status('admin', `"\${${PASSWORD_VARIABLE}}"`)).toBe(401); // the placeholder is no password
      // The API rewrites its YAML at start-up (which is why it lives in the emptyDir): still no secret.
      const yamlOnDisk = readFileSync(join(run, 'dataplaneapi.yaml'), 'utf8');
      expect(yamlOnDisk).toContain(PASSWORD_VARIABLE);
      expect(yamlOnDisk).not.toContain(password);

      // A configuration change reloads HAProxy through reload.sh and the master socket, at these paths.
      const client = new HarnessDataPlaneClient({ baseURL: url, username: 'admin', password, timeoutMs: 10_000, baseDelayMs: 50, reloadPollMs: 100 });
      const frontPort = await freePort();
      const tx = await client.startTransaction(await client.configurationVersion());
      await client.createFrontend({ name: 'hairpin_e2e', mode: 'tcp' }, { transactionId: tx.id });
      await client.createBind('hairpin_e2e', { name: 'e2e', address: '127.0.0.1', port: frontPort }, { transactionId: tx.id });
      const commit = await client.commitNow(tx.id);
      expect(commit.effect).toBe('reloaded');
      expect(readFileSync(join(run, 'haproxy.cfg'), 'utf8')).toContain(`bind 127.0.0.1:${frontPort}`);
      await waitFor(() => canConnect(frontPort), { timeoutMs: 10_000, what: `HAProxy to listen on ${frontPort} after the reload` });
    }),
    90_000,
  );
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
