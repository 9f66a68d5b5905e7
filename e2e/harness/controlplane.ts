/**
 * A real Kubernetes control plane without Docker: etcd + kube-apiserver on 127.0.0.1, RBAC on,
 * token authentication for an admin and for the controller's service-account identity.
 * No controller-manager, scheduler or kubelet: tests create Services and EndpointSlices themselves.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { startProcess, waitFor, type ManagedProcess } from './processes.js';
import { REPO_ROOT, toolPath } from './tools.js';

export const CONTROLLER_NAMESPACE = 'hairpin-proxy';
export const CONTROLLER_SERVICE_ACCOUNT = 'hairpin-proxy';
export const CONTROLLER_USER = `system:serviceaccount:${CONTROLLER_NAMESPACE}:${CONTROLLER_SERVICE_ACCOUNT}`;
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';

export interface ControlPlaneOptions {
  /** The suite's temp dir (makeTmpDir). */
  readonly tmpDir: string;
  /** More kube-apiserver flags, e.g. ['--watch-cache=false', '--min-request-timeout=5']. */
  readonly extraArgs?: readonly string[];
  /** Write an audit log of the controller identity's requests (see auditEvents()). */
  readonly audit?: boolean;
  /** Bound on the wait for /readyz (default 90 s: a cold start on 2 cores takes ~10 s). */
  readonly readyTimeoutMs?: number;
  /** More identities, each with a token and a kubeconfig (kubeconfigPath(name)). */
  readonly users?: ReadonlyArray<{ readonly name: string; readonly user: string; readonly groups: readonly string[] }>;
  /**
   * Serve a real node: listen on every address and advertise this one (pods reach the apiserver
   * through the kubernetes Service), keep that Service's endpoints, admit ServiceAccount tokens,
   * authorize kubelets with the Node authorizer.
   */
  readonly advertiseAddress?: string;
}

export interface KubectlOptions {
  /** Fed to stdin (for `apply -f -`). Objects are sent as JSON. */
  readonly input?: string | object;
  /** Return a non-zero exit instead of throwing (e.g. `auth can-i` answers "no" with exit 1). */
  readonly allowFail?: boolean;
  /** Use the controller's kubeconfig instead of the admin's. */
  readonly asController?: boolean;
  readonly timeoutMs?: number;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One apiserver audit event (audit.k8s.io/v1 Event, the fields tests use). */
export interface AuditEvent {
  readonly stage: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string };
  readonly objectRef?: { readonly resource?: string; readonly namespace?: string; readonly name?: string };
  readonly responseStatus?: { readonly code?: number };
  readonly stageTimestamp: string;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly etcdUrl: string;
  readonly adminKubeconfigPath: string;
  /** The controller's identity: system:serviceaccount:hairpin-proxy:hairpin-proxy. */
  readonly controllerKubeconfigPath: string;
  /** The apiserver's self-signed serving certificate chain, used as the kubeconfigs' CA. */
  readonly caPath: string;
  readonly etcd: ManagedProcess;
  readonly apiserver: ManagedProcess;
  /** Runs the real kubectl with the admin kubeconfig; throws on a non-zero exit unless allowFail. */
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** `kubectl get … -o json`, parsed. */
  getJson<T = Record<string, unknown>>(args: readonly string[]): Promise<T>;
  /** `kubectl apply --server-side -f -` of objects (or YAML text). */
  apply(objects: string | object | readonly object[]): Promise<void>;
  /** A client-node KubeConfig for the admin (or the controller) for in-process tests. */
  kubeConfig(who?: 'admin' | 'controller'): KubeConfig;
  /** Stops the apiserver, then etcd. */
  stop(): Promise<void>;
  /** Starts them again with the same data dir and ports; resolves when /readyz answers ok. */
  start(): Promise<void>;
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
  /** Compacts etcd (physically) at its current revision; returns that revision. */
  compactEtcd(): Promise<number>;
  /** etcd's current revision (what the apiserver calls resourceVersion). */
  etcdRevision(): Promise<number>;
  /** Audit events so far (requires options.audit). */
  auditEvents(): AuditEvent[];
  /** The kubeconfig of a user from options.users. */
  kubeconfigPath(name: string): string;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { tmpDir } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const [etcdBin, apiserverBin, kubectlBin] = await Promise.all([toolPath('etcd'), toolPath('kube-apiserver'), toolPath('kubectl')]);
  const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const dir = (name: string) => {
    const path = join(tmpDir, name);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const etcdData = dir('etcd-data');
  const certDir = dir('apiserver-certs');
  const secrets = dir('secrets');

  // Service-account signing key (no controller-manager issues tokens, but the flags are required).
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(join(secrets, 'sa.key'), privateKey, { mode: 0o600 });
  writeFileSync(join(secrets, 'sa.pub'), publicKey);

  // Static tokens: token,user,uid,"group1,group2"
  const adminToken = randomBytes(24).toString('hex');
  const controllerToken = randomBytes(24).toString('hex');
  const users = (options.users ?? []).map((u) => ({ ...u, token: randomBytes(24).toString('hex') }));
  writeFileSync(
    join(secrets, 'tokens.csv'),
    [
      `${adminToken},admin,admin-uid,"system:masters,system:authenticated"`,
      `${controllerToken},${CONTROLLER_USER},hairpin-proxy-uid,"system:serviceaccounts,system:serviceaccounts:${CONTROLLER_NAMESPACE},system:authenticated"`,
      ...users.map((u) => `${u.token},${u.user},${u.name}-uid,"${[...u.groups, 'system:authenticated'].join(',')}"`),
    ].join('\n') + '\n',
    { mode: 0o600 },
  );

  const auditLog = join(tmpDir, 'audit.log');
  const auditArgs: string[] = [];
  if (options.audit) {
    const policy = join(secrets, 'audit-policy.yaml');
    // Only what the controller identity reads and writes; everything else stays out of the log.
    writeFileSync(
      policy,
      stringify({
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitStages: ['RequestReceived'],
        rules: [
          { level: 'Metadata', users: [CONTROLLER_USER] },
          { level: 'None' },
        ],
      }),
    );
    auditArgs.push(`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json', '--audit-log-mode=blocking');
  }

  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcd = startProcess({
    name: 'etcd',
    command: etcdBin,
    logDir: tmpDir,
    args: [
      '--name=hp',
      `--data-dir=${etcdData}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=hp=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync', // test data: durability is not the point, speed is
      '--log-level=warn',
    ],
  });
  const waitEtcd = () =>
    waitFor(async () => (await fetch(`${etcdUrl}/health`)).ok, { timeoutMs: 30_000, intervalMs: 100, what: 'etcd /health' });
  await waitEtcd();

  // The self-signed serving certificate names the advertised address (and the kubernetes Service IP).
  const url = `https://${options.advertiseAddress ?? '127.0.0.1'}:${apiPort}`;
  const apiserver = startProcess({
    name: 'kube-apiserver',
    command: apiserverBin,
    logDir: tmpDir,
    args: [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      ...(options.advertiseAddress
        ? ['--bind-address=0.0.0.0', `--advertise-address=${options.advertiseAddress}`, '--endpoint-reconciler-type=lease']
        : // No kubelets: nothing to reconcile the kubernetes Service's endpoints against.
          ['--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none']),
      `--secure-port=${apiPort}`,
      `--token-auth-file=${join(secrets, 'tokens.csv')}`,
      // A node's kubelet is authorized by the Node authorizer; everyone else by RBAC.
      `--authorization-mode=${options.advertiseAddress ? 'Node,RBAC' : 'RBAC'}`,
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${join(secrets, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(secrets, 'sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      // Without a node nothing mounts ServiceAccount tokens into Pods.
      ...(options.advertiseAddress ? [] : ['--disable-admission-plugins=ServiceAccount']),
      '--allow-privileged=true',
      ...auditArgs,
      ...(options.extraArgs ?? []),
    ],
  });

  const caPath = join(certDir, 'apiserver.crt');
  const waitReady = async () => {
    await waitFor(() => existsSync(caPath), { timeoutMs: readyTimeoutMs, what: `kube-apiserver to write ${caPath}` });
    await waitFor(async () => (await probe(url, '/readyz', adminToken, readFileSync(caPath))) === 200, {
      timeoutMs: readyTimeoutMs,
      intervalMs: 200,
      what: `kube-apiserver ${url}/readyz`,
    });
  };
  await waitReady();

  const caData = readFileSync(caPath).toString('base64');
  const kubeconfig = (user: string, token: string) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: url, 'certificate-authority-data': caData } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user } }],
      'current-context': 'e2e',
    });
  const adminKubeconfigPath = join(secrets, 'admin.kubeconfig');
  const controllerKubeconfigPath = join(secrets, 'controller.kubeconfig');
  writeFileSync(adminKubeconfigPath, kubeconfig('admin', adminToken), { mode: 0o600 });
  writeFileSync(controllerKubeconfigPath, kubeconfig('hairpin-proxy', controllerToken), { mode: 0o600 });
  for (const u of users) writeFileSync(join(secrets, `${u.name}.kubeconfig`), kubeconfig(u.name, u.token), { mode: 0o600 });
  const kubeconfigPath = (name: string): string => {
    if (!users.some((u) => u.name === name)) throw new Error(`no user ${name} in startControlPlane({ users })`);
    return join(secrets, `${name}.kubeconfig`);
  };

  const kubectl = (args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> =>
    new Promise((resolve, reject) => {
      const config = opts.asController ? controllerKubeconfigPath : adminKubeconfigPath;
      const child = execFile(
        kubectlBin,
        [`--kubeconfig=${config}`, ...args],
        { cwd: REPO_ROOT, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          if (code !== 0 && !opts.allowFail) {
            reject(new Error(`kubectl ${args.join(' ')} exited ${code}${error?.killed ? ' (timed out)' : ''}: ${stderr.trim() || stdout.trim()}`));
            return;
          }
          resolve({ code, stdout, stderr });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(typeof opts.input === 'string' ? opts.input : JSON.stringify(opts.input));
      else child.stdin?.end();
    });

  const etcdPost = async (path: string, body: object): Promise<Record<string, unknown>> => {
    const response = await fetch(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`etcd ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const etcdRevision = async () => {
    const answer = await etcdPost('/v3/kv/range', { key: Buffer.from('/registry/').toString('base64'), count_only: true });
    return Number((answer.header as { revision: string }).revision);
  };

  const plane: ControlPlane = {
    url,
    etcdUrl,
    adminKubeconfigPath,
    controllerKubeconfigPath,
    caPath,
    etcd,
    apiserver,
    kubectl,
    async getJson<T>(args: readonly string[]) {
      const { stdout } = await kubectl(['get', ...args, '-o', 'json']);
      return JSON.parse(stdout) as T;
    },
    async apply(objects) {
      const input = typeof objects === 'string' ? objects : Array.isArray(objects) ? { apiVersion: 'v1', kind: 'List', items: objects } : objects;
      await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=e2e', '-f', '-'], { input });
    },
    kubeConfig(who = 'admin') {
      const config = new KubeConfig();
      config.loadFromFile(who === 'admin' ? adminKubeconfigPath : controllerKubeconfigPath);
      return config;
    },
    async stopApiserver() {
      await apiserver.stop();
    },
    async startApiserver() {
      apiserver.start();
      await waitReady();
    },
    async stop() {
      await apiserver.stop();
      await etcd.stop();
    },
    async start() {
      etcd.start();
      await waitEtcd();
      apiserver.start();
      await waitReady();
    },
    async compactEtcd() {
      const revision = await etcdRevision();
      await etcdPost('/v3/kv/compaction', { revision: String(revision), physical: true });
      return revision;
    },
    etcdRevision,
    auditEvents() {
      if (!options.audit) throw new Error('auditEvents() needs startControlPlane({ audit: true })');
      if (!existsSync(auditLog)) return [];
      return readFileSync(auditLog, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as AuditEvent);
    },
    kubeconfigPath,
  };
  return plane;
}

/** GET path with a bearer token; resolves the HTTP status, or 0 when nothing answers. */
function probe(base: string, path: string, token: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${base}${path}`, { headers: { authorization: `Bearer ${token}` }, ca, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}
