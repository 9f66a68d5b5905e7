/**
 * A real single-node Kubernetes cluster on this machine, without Docker or a registry: the control
 * plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and one node (a private
 * containerd with runc, the kubelet, kube-proxy in iptables mode, the CNI bridge plugin).
 * Settings and clean-up follow shared/reference/real-node.md; everything lives under the suite's
 * temp dir, except what the kubelet and kube-proxy put on the host, which teardown() removes.
 *
 *   node IP / pod gateway   10.88.0.1 on bridge hp-cni0 (pods: 10.88.0.0/24)
 *   Services                10.96.0.0/16, kube-dns 10.96.0.10
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import {
  freePort,
  registerCleanup,
  startControlPlane,
  startProcess,
  toolPath,
  waitFor,
  writeNetnsResolvConf,
  type ControlPlane,
  type ManagedProcess,
} from '../harness/index.js';
import { makeNodePki } from './pki.js';

const exec = promisify(execFile);

export const NODE = {
  name: 'hp-node',
  ip: '10.88.0.1',
  podCidr: '10.88.0.0/24',
  bridge: 'hp-cni0',
  kubeDns: '10.96.0.10',
} as const;

export interface NodeCluster {
  readonly plane: ControlPlane;
  readonly dir: string;
  readonly containerd: ManagedProcess;
  readonly kubelet: ManagedProcess;
  readonly kubeProxy: ManagedProcess;
  /** `ctr` against this node's containerd, in the kubelet's namespace (k8s.io). */
  ctr(args: readonly string[]): Promise<string>;
  /** Makes an image archive (images.ts) available to the node's Pods. */
  importImage(archive: string): Promise<void>;
  /**
   * A Pod's network namespace as a named `ip netns` (ip netns attach), with the Pod's own
   * resolv.conf for `ip netns exec`: commands run there exactly as the Pod's traffic goes.
   */
  podNetns(namespace: string, pod: string): Promise<string>;
}

/** What the host had before, restored by teardown. */
const SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops', 'net/ipv4/ip_forward', 'net/ipv4/conf/all/route_localnet'];
/** Directories the kubelet creates on the host whatever its root dir is. */
const HOST_DIRS = ['/var/lib/kubelet', '/var/log/pods', '/var/log/containers', '/run/containerd'];
const LOCK = '/run/hairpin-proxy-node.lock';

/** Why the node cannot run here, or undefined. */
export async function nodeSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'a real node needs root (kubelet, containerd, iptables, mounts)';
  if (process.env.HAIRPIN_SKIP_NODE === '1') return 'HAIRPIN_SKIP_NODE=1';
  if (existsSync('/run/containerd/containerd.sock')) {
    // GitHub's runners run Docker's containerd there; containerd 1.6 puts every shim's socket in
    // /run/containerd/s, so a second containerd would write into the first one's state directory.
    return 'another containerd runs on this machine (/run/containerd/containerd.sock): the node harness never shares its state directory';
  }
  if (existsSync(LOCK)) return `another node run holds ${LOCK}`;
  return undefined;
}

export interface NodeClusterOptions {
  readonly tmpDir: string;
  /** The node's resolv.conf: the upstream DNS of Pods with dnsPolicy Default (CoreDNS). */
  readonly resolvConf: string;
  /** The sandbox ("pause") image, as an archive images.ts built, imported before the kubelet starts. */
  readonly sandbox: { readonly ref: string; readonly archive: string };
}

export async function startNodeCluster(options: NodeClusterOptions): Promise<NodeCluster> {
  const { tmpDir } = options;
  const dir = join(tmpDir, 'node');
  mkdirSync(dir, { recursive: true });
  mkdirSync(LOCK);
  registerCleanup(`remove ${LOCK}`, () => rmSync(LOCK, { recursive: true, force: true }));
  const saved = new Map(SYSCTLS.map((key) => [key, readFileSync(`/proc/sys/${key}`, 'utf8').trim()]));
  const createdDirs = HOST_DIRS.filter((path) => !existsSync(path));
  registerCleanup('node host state', () => teardownHost(dir, saved, createdDirs));
  const tool = {
    containerd: await toolPath('containerd'),
    ctr: await toolPath('ctr'),
    runc: await toolPath('runc'),
    cni: (await toolPath('cni-plugins')).replace(/\/host-local$/, ''),
    kubelet: await toolPath('kubelet'),
    kubeProxy: await toolPath('kube-proxy'),
    controllerManager: await toolPath('kube-controller-manager'),
    scheduler: await toolPath('kube-scheduler'),
    ip: await toolPath('ip'),
  };

  // The node's address exists before anything binds to it; the bridge plugin adopts the bridge.
  await exec(tool.ip, ['link', 'add', NODE.bridge, 'type', 'bridge']);
  await exec(tool.ip, ['addr', 'add', `${NODE.ip}/24`, 'dev', NODE.bridge]);
  await exec(tool.ip, ['link', 'set', NODE.bridge, 'up']);

  const pki = await makeNodePki(join(dir, 'pki'));
  const plane = await startControlPlane({
    tmpDir,
    advertiseAddress: NODE.ip,
    users: [
      { name: 'kubelet', user: `system:node:${NODE.name}`, groups: ['system:nodes'] },
      { name: 'kube-proxy', user: 'system:kube-proxy', groups: [] },
    ],
    extraArgs: [
      `--kubelet-client-certificate=${pki.apiserverClientCert}`,
      `--kubelet-client-key=${pki.apiserverClientKey}`,
      '--kubelet-preferred-address-types=InternalIP',
    ],
  });
  // kube-proxy's own identity: the built-in role for it.
  await plane.kubectl(['create', 'clusterrolebinding', 'hp-kube-proxy', '--clusterrole=system:node-proxier', '--user=system:kube-proxy']);

  const secrets = join(tmpDir, 'secrets');
  startProcess({
    name: 'kube-controller-manager',
    command: tool.controllerManager,
    logDir: tmpDir,
    args: [
      `--kubeconfig=${plane.adminKubeconfigPath}`,
      '--leader-elect=false',
      '--use-service-account-credentials=false',
      `--service-account-private-key-file=${join(secrets, 'sa.key')}`,
      `--root-ca-file=${plane.caPath}`,
      '--secure-port=0',
      '--v=1',
    ],
  });
  startProcess({
    name: 'kube-scheduler',
    command: tool.scheduler,
    logDir: tmpDir,
    args: [`--kubeconfig=${plane.adminKubeconfigPath}`, '--leader-elect=false', '--secure-port=0', '--v=1'],
  });

  const socket = join(dir, 'containerd', 'containerd.sock');
  const containerdConfig = join(dir, 'containerd', 'config.toml');
  mkdirSync(join(dir, 'containerd'), { recursive: true });
  mkdirSync(join(dir, 'cni'), { recursive: true });
  writeFileSync(containerdConfig, containerdToml(dir, socket, tool, options.sandbox.ref));
  writeFileSync(join(dir, 'cni', '10-hp-pods.conflist'), JSON.stringify(cniConfig(dir), null, 2));
  const containerd = startProcess({ name: 'containerd', command: tool.containerd, args: ['--config', containerdConfig], logDir: tmpDir });
  await waitFor(() => existsSync(socket), { timeoutMs: 30_000, what: 'containerd to listen' });
  registerCleanup('containers of the node', () => killContainers(socket));
  const ctr = async (args: readonly string[]) => (await exec(tool.ctr, ['--address', socket, '--namespace', 'k8s.io', ...args], { maxBuffer: 64 << 20, timeout: 5 * 60_000 })).stdout;
  const importImage = async (archive: string) => void (await ctr(['images', 'import', archive]));
  await importImage(options.sandbox.archive);

  const kubeletDir = join(dir, 'kubelet');
  mkdirSync(kubeletDir, { recursive: true });
  const kubeletConfig = join(dir, 'kubelet.yaml');
  writeFileSync(kubeletConfig, stringify(kubeletConfiguration({ socket, clientCa: pki.caCert, resolvConf: options.resolvConf, port: await freePort(), healthzPort: await freePort() })));
  const kubelet = startProcess({
    name: 'kubelet',
    command: tool.kubelet,
    logDir: tmpDir,
    args: [
      `--config=${kubeletConfig}`,
      `--kubeconfig=${plane.kubeconfigPath('kubelet')}`,
      `--root-dir=${kubeletDir}`,
      `--hostname-override=${NODE.name}`,
      `--node-ip=${NODE.ip}`,
      '--v=1',
    ],
  });

  const kubeProxyConfig = join(dir, 'kube-proxy.yaml');
  writeFileSync(kubeProxyConfig, stringify(kubeProxyConfiguration(plane.kubeconfigPath('kube-proxy'), await freePort(), await freePort())));
  const kubeProxy = startProcess({ name: 'kube-proxy', command: tool.kubeProxy, args: [`--config=${kubeProxyConfig}`, '--v=1'], logDir: tmpDir });
  registerCleanup('kube-proxy --cleanup', () => exec(tool.kubeProxy, ['--cleanup', `--config=${kubeProxyConfig}`]).then(() => undefined, () => undefined));

  await waitFor(
    async () => {
      const node = await plane.getJson<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(['node', NODE.name]).catch(() => undefined);
      return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `node ${NODE.name} to be Ready` },
  );

  return {
    plane,
    dir,
    containerd,
    kubelet,
    kubeProxy,
    ctr,
    importImage,
    async podNetns(namespace, pod) {
      const name = `hp-pod-${namespace}-${pod}`.slice(0, 60);
      if (existsSync(`/run/netns/${name}`)) return name;
      const info = await plane.getJson<{ metadata: { uid: string } }>(['pod', '-n', namespace, pod]);
      const pid = await sandboxPid(ctr, info.metadata.uid);
      await exec(tool.ip, ['netns', 'attach', name, String(pid)]);
      registerCleanup(`ip netns delete ${name}`, () => exec(tool.ip, ['netns', 'delete', name]).then(() => undefined, () => undefined));
      writeNetnsResolvConf(name, [`search ${namespace}.svc.cluster.local svc.cluster.local cluster.local`, `nameserver ${NODE.kubeDns}`, 'options ndots:5']);
      return name;
    },
  };
}

/** The PID of a Pod's sandbox (its pause process), found by the Pod's uid label. */
async function sandboxPid(ctr: (args: readonly string[]) => Promise<string>, uid: string): Promise<number> {
  for (const id of (await ctr(['containers', 'ls', '-q'])).split('\n').filter(Boolean)) {
    const info = JSON.parse(await ctr(['containers', 'info', id])) as { Labels?: Record<string, string> };
    if (info.Labels?.['io.kubernetes.pod.uid'] !== uid || info.Labels['io.cri-containerd.kind'] !== 'sandbox') continue;
    const task = (await ctr(['tasks', 'ls'])).split('\n').find((line) => line.startsWith(id));
    const pid = Number(task?.split(/\s+/)[1]);
    if (Number.isInteger(pid) && pid > 0) return pid;
  }
  throw new Error(`no running sandbox for the Pod with uid ${uid}`);
}

function containerdToml(dir: string, socket: string, tool: { runc: string; cni: string }, sandboxImage: string): string {
  const root = join(dir, 'containerd');
  return `version = 2
root = "${root}/root"
state = "${root}/state"
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${root}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  # No CAP_SYS_RESOURCE in this VM: without it every sandbox fails to start.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "${tool.runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${tool.cni}"
    conf_dir = "${dir}/cni"
`;
}

function cniConfig(dir: string): object {
  return {
    cniVersion: '1.0.0',
    name: 'hp-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: NODE.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: NODE.podCidr, gateway: NODE.ip }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'cni-ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

function kubeletConfiguration(o: { socket: string; clientCa: string; resolvConf: string; port: number; healthzPort: number }): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // This machine has cgroup v1, which 1.35 refuses unless told otherwise.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${o.socket}`,
    address: NODE.ip,
    port: o.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: o.healthzPort,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: o.clientCa } },
    authorization: { mode: 'Webhook' },
    clusterDNS: [NODE.kubeDns],
    clusterDomain: 'cluster.local',
    resolvConf: o.resolvConf,
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
  };
}

function kubeProxyConfiguration(kubeconfig: string, healthzPort: number, metricsPort: number): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig },
    hostnameOverride: NODE.name,
    clusterCIDR: NODE.podCidr,
    detectLocalMode: 'ClusterCIDR',
    nodePortAddresses: [`${NODE.ip}/32`],
    healthzBindAddress: `127.0.0.1:${healthzPort}`,
    metricsBindAddress: `127.0.0.1:${metricsPort}`,
    iptables: { localhostNodePorts: false },
    // 0: leave the host's conntrack sysctls alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  };
}

/**
 * Kills every container of this node and their shims: shims outlive containerd, and a container
 * outlives its shim (it is re-parented), so containers are found by their cgroup, kubepods.
 */
async function killContainers(socket: string): Promise<void> {
  const { stdout } = await exec('pgrep', ['-f', `containerd-shim-runc-v2 .*-address ${socket}`]).catch(() => ({ stdout: '' }));
  const shims = stdout.split('\n').filter(Boolean).map(Number);
  for (let round = 0; round < 10; round++) {
    const pids = [...new Set([...podProcesses(), ...shims])];
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    shims.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every process in a kubepods cgroup (cgroup v1's pids hierarchy, or v2's one tree, sees them all). */
function podProcesses(): number[] {
  const walk = (dir: string): number[] => {
    if (!existsSync(dir)) return [];
    const here = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    return [...here, ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => walk(join(dir, e.name)))];
  };
  return ['/sys/fs/cgroup/pids/kubepods', '/sys/fs/cgroup/kubepods'].flatMap(walk);
}

/** Removes what the kubelet, kube-proxy and the CNI plugins left on the host (real-node.md). */
async function teardownHost(dir: string, sysctls: ReadonlyMap<string, string>, createdDirs: readonly string[]): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mount) => mount.startsWith(dir) || createdDirs.some((created) => mount.startsWith(`${created}/`) || mount === created))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) await exec('umount', ['-l', mount.replace(/\\040/g, ' ')]).catch(() => undefined);
  for (const table of ['iptables', 'ip6tables']) {
    for (const chain of ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT']) {
      for (const t of ['filter', 'nat', 'mangle']) {
        await exec(table, ['-w', '5', '-t', t, '-D', 'INPUT', '-j', chain]).catch(() => undefined);
        await exec(table, ['-w', '5', '-t', t, '-D', 'OUTPUT', '-j', chain]).catch(() => undefined);
        await exec(table, ['-w', '5', '-t', t, '-F', chain]).catch(() => undefined);
        await exec(table, ['-w', '5', '-t', t, '-X', chain]).catch(() => undefined);
      }
    }
  }
  await exec('ip', ['link', 'delete', NODE.bridge]).catch(() => undefined);
  // cgroup v1: one directory per hierarchy; v2: the one tree.
  for (const parent of ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((hierarchy) => join('/sys/fs/cgroup', hierarchy))]) {
    for (const group of ['kubepods', 'k8s.io']) removeCgroup(join(parent, group));
  }
  for (const [key, value] of sysctls) writeFileSync(`/proc/sys/${key}`, `${value}\n`);
  for (const created of createdDirs) rmSync(created, { recursive: true, force: true });
}

function removeCgroup(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) removeCgroup(join(path, entry.name));
  try {
    rmdirSync(path);
  } catch {
    // still has processes: they were killed above; the kernel frees it once they are gone
  }
}
