/**
 * The kind e2e's cluster and the commands that drive it: docker, kind and kubectl, each run to
 * completion within a bound (killed past it), a failure naming the command and ending with its
 * stderr. The pins come from hack/versions.env: KIND_VERSION (the binary `hack/tools path kind`
 * builds) and KIND_NODE_IMAGE (the node image, by digest).
 */
import { execFile } from 'node:child_process';
import { basename, join } from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';
import { pin, REPO_ROOT, registerCleanup, toolPath } from '../harness/index.js';

/**
 * Bounds of each command (exec() kills it past its bound): the suite's jest timeouts are sums of
 * these (budget.ts), so a slow step fails with its own message and diagnostics, never by jest
 * abandoning a hook half-way.
 */
export const BOUNDS = {
  /** `kind create cluster … --wait 3m`, the node image pulled first. */
  createCluster: 10 * 60_000,
  /** `docker build` of the controller image. */
  buildImage: 10 * 60_000,
  loadImage: 5 * 60_000,
  deleteCluster: 3 * 60_000,
  exportLogs: 5 * 60_000,
  /** A kubectl command given no bound of its own. */
  kubectl: 60_000,
  /** `kubectl rollout status|wait … --timeout=300s`, and kubectl's own start-up on top. */
  rollout: 320_000,
  /** `kubectl rollout status … --timeout=180s` (and `kubectl wait … --timeout=180s`). */
  shortRollout: 200_000,
  /** Each kubectl command of diagnostics(). */
  diagnosticCommand: 20_000,
} as const;

/** Worst case of KindCluster.addDnsRecords(): three kubectl commands and the rollout. */
export const ADD_DNS_RECORDS_MS = 3 * BOUNDS.kubectl + BOUNDS.shortRollout;

/** The bound of waitFor({ timeoutMs, intervalMs }) whose attempts are each bounded by attemptMs. */
export function waitBound(timeoutMs: number, attemptMs: number, intervalMs: number): number {
  return timeoutMs + attemptMs + intervalMs;
}

/**
 * Which of kind v0.33.0's node images the suite runs on: the key in hack/versions.env named by
 * HAIRPIN_KIND_NODE_IMAGE_PIN (CI's matrix sets it), KIND_NODE_IMAGE by default.
 */
export function nodeImage(): string {
  const key = process.env.HAIRPIN_KIND_NODE_IMAGE_PIN ?? 'KIND_NODE_IMAGE';
  if (!/^KIND_NODE_IMAGE(_[A-Z0-9]+)?$/.test(key)) throw new Error(`HAIRPIN_KIND_NODE_IMAGE_PIN=${key}: not a KIND_NODE_IMAGE* key of hack/versions.env`);
  return pin(key);
}

/**
 * Whether a Docker engine answers, asked the way testcontainers asks: without one,
 * getContainerRuntimeClient() rejects within a second ("Could not find a working container
 * runtime strategy").
 */
export async function dockerEngine(): Promise<{ readonly ok: boolean; readonly reason: string }> {
  try {
    const { info } = await getContainerRuntimeClient();
    return { ok: true, reason: `${info.containerRuntime.host}, ${info.containerRuntime.operatingSystem}` };
  } catch (error) {
    return { ok: false, reason: `testcontainers: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Runs a command to completion within timeoutMs (SIGKILL past it); resolves to its stdout. */
export function exec(file: string, args: readonly string[], options: { timeoutMs: number; input?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, [...args], { cwd: REPO_ROOT, timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const why = error.killed ? `killed after ${options.timeoutMs} ms` : `exit ${String(error.code)}`;
      reject(new Error(`${basename(file)} ${args.join(' ')}: ${why}: ${(stderr.trim() || stdout.trim()).slice(-3000)}`));
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** `docker build` of the controller image from the repository's Dockerfile. */
export async function buildImage(tag: string): Promise<void> {
  await exec('docker', ['build', '--tag', tag, '.'], { timeoutMs: BOUNDS.buildImage });
}

/** The IPv4 subnet of kind's Docker network (`kind`), e.g. 172.18.0.0/16. */
export async function kindNetworkSubnet(): Promise<string> {
  const config = JSON.parse(await exec('docker', ['network', 'inspect', 'kind', '--format', '{{json .IPAM.Config}}'], { timeoutMs: 30_000 })) as Array<{ Subnet?: string }>;
  const subnet = config.map((c) => c.Subnet ?? '').find((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s));
  if (!subnet) throw new Error(`docker network kind has no IPv4 subnet: ${JSON.stringify(config)}`);
  return subnet;
}

export class KindCluster {
  /** Set by keep(): cleanupAll() then leaves the cluster for `kind export logs` after the run. */
  private kept = false;

  private constructor(
    readonly name: string,
    readonly kubeconfig: string,
    private readonly kind: string,
    private readonly kubectlBin: string,
  ) {}

  /**
   * `kind create cluster` with the pinned node image (nodeImage()), one node (kind then removes
   * the label that would keep MetalLB from announcing from it), its kubeconfig in tmpDir. Its
   * deletion is registered first, so cleanupAll() removes even a half-created cluster (unless
   * keep() was called).
   */
  static async create(name: string, tmpDir: string): Promise<KindCluster> {
    const [kind, kubectl] = await Promise.all([toolPath('kind'), toolPath('kubectl')]);
    const cluster = new KindCluster(name, join(tmpDir, 'kubeconfig'), kind, kubectl);
    registerCleanup(`kind delete cluster --name ${name}`, async () => {
      if (cluster.kept) {
        process.stderr.write(`[kind e2e] kept kind cluster ${name} for \`kind export logs\` (KEEP_CLUSTER_ON_FAILURE=1); delete it with: kind delete cluster --name ${name}\n`);
        return;
      }
      await exec(cluster.kind, ['delete', 'cluster', '--name', name, '--kubeconfig', cluster.kubeconfig], { timeoutMs: BOUNDS.deleteCluster });
    });
    await exec(cluster.kind, ['create', 'cluster', '--name', name, '--image', nodeImage(), '--kubeconfig', cluster.kubeconfig, '--wait', '3m'], {
      timeoutMs: BOUNDS.createCluster,
    });
    return cluster;
  }

  /** Leave the cluster running after cleanupAll(), for `kind export logs` in a later step. */
  keep(): void {
    this.kept = true;
  }

  /** `kind export logs DIR`: every node's journal, container and pod logs, for a failed run's artifact. */
  async exportLogs(dir: string): Promise<void> {
    await exec(this.kind, ['export', 'logs', dir, '--name', this.name], { timeoutMs: BOUNDS.exportLogs });
  }

  /** `kind load docker-image`: a locally built image into the node's containerd. */
  async loadImage(image: string): Promise<void> {
    await exec(this.kind, ['load', 'docker-image', image, '--name', this.name], { timeoutMs: BOUNDS.loadImage });
  }

  kubectl(args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    return exec(this.kubectlBin, ['--kubeconfig', this.kubeconfig, ...args], { timeoutMs: options.timeoutMs ?? BOUNDS.kubectl, input: options.input });
  }

  async getJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.kubectl([...args, '-o', 'json'])) as T;
  }

  /** `kubectl apply` of objects, sent as one List on stdin. */
  async apply(objects: readonly object[]): Promise<void> {
    await this.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  }

  async corefile(): Promise<string> {
    return this.kubectl(['-n', 'kube-system', 'get', 'configmap', 'coredns', '-o', 'jsonpath={.data.Corefile}']);
  }

  /**
   * Adds fixed answers to cluster DNS (CoreDNS's hosts plugin, in the root server block) and
   * restarts CoreDNS so that they hold at once, instead of after the kubelet's ConfigMap refresh.
   */
  async addDnsRecords(records: Readonly<Record<string, string>>): Promise<void> {
    const corefile = corefileWithHosts(await this.corefile(), records);
    await this.kubectl(['-n', 'kube-system', 'patch', 'configmap', 'coredns', '--type', 'merge', '-p', JSON.stringify({ data: { Corefile: corefile } })]);
    await this.kubectl(['-n', 'kube-system', 'rollout', 'restart', 'deployment/coredns']);
    await this.kubectl(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=180s'], { timeoutMs: BOUNDS.shortRollout });
  }


  /** What a failure needs to be understood: pods, events, ACME objects, the Corefile, logs. */
  async diagnostics(): Promise<string> {
    const out: string[] = [];
    for (const [title, args] of DIAGNOSTIC_SECTIONS) {
      const text = await this.kubectl(args, { timeoutMs: BOUNDS.diagnosticCommand }).catch((error: unknown) => `(failed: ${error instanceof Error ? error.message : String(error)})`);
      out.push(`----- ${title} -----\n${text.trimEnd().split('\n').slice(-150).join('\n')}`);
    }
    return out.join('\n');
  }
}

const logs = (namespace: string, selector: string, lines = 60): readonly string[] => ['-n', namespace, 'logs', '-l', selector, '--all-containers', '--prefix', `--tail=${lines}`];

/** diagnostics()'s sections: a title and the kubectl command whose output it shows. */
const DIAGNOSTIC_SECTIONS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['pods', ['get', 'pods', '-A', '-o', 'wide']],
  ['services', ['get', 'services', '-A', '-o', 'wide']],
  ['events', ['get', 'events', '-A', '--sort-by=.lastTimestamp']],
  ['cert-manager objects', ['get', 'clusterissuers,certificates,certificaterequests,orders,challenges', '-A', '-o', 'wide']],
  ['challenges', ['describe', 'challenges.acme.cert-manager.io', '-A']],
  ['Corefile', ['-n', 'kube-system', 'get', 'configmap', 'coredns', '-o', 'jsonpath={.data.Corefile}']],
  ['hairpin-proxy controller logs', logs('hairpin-proxy', 'app.kubernetes.io/component=controller', 100)],
  ['hairpin HAProxy logs', logs('hairpin-proxy', 'app.kubernetes.io/name=hairpin-proxy-haproxy', 40)],
  ['cert-manager logs', logs('cert-manager', 'app.kubernetes.io/component=controller', 80)],
  ['ingress-nginx logs', logs('ingress-nginx', 'app.kubernetes.io/component=controller')],
  ['CoreDNS logs', logs('kube-system', 'k8s-app=kube-dns', 30)],
  ['MetalLB logs', logs('metallb-system', 'app=metallb', 30)],
];

/** Worst case of diagnostics(): one bounded kubectl command per section, one after the other. */
export const DIAGNOSTICS_MS = DIAGNOSTIC_SECTIONS.length * BOUNDS.diagnosticCommand;

/**
 * The Corefile with a hosts block answering `name -> address` for each record, inserted in the
 * root server block before the kubernetes plugin. `fallthrough` passes every other name on;
 * `ttl 5` keeps caches short. (CoreDNS runs plugins in its compiled order, not the Corefile's:
 * rewrite runs before hosts, so hairpin-proxy's rewrite still wins for a host listed here.)
 */
export function corefileWithHosts(corefile: string, records: Readonly<Record<string, string>>): string {
  const kubernetes = /^([ \t]*)kubernetes\s/m.exec(corefile);
  if (!kubernetes) throw new Error(`no kubernetes plugin line in the Corefile:\n${corefile}`);
  const indent = kubernetes[1] ?? '    ';
  const entries = Object.entries(records).map(([name, address]) => `${indent}   ${address} ${name}\n`);
  const block = `${indent}hosts {\n${entries.join('')}${indent}   ttl 5\n${indent}   fallthrough\n${indent}}\n`;
  return corefile.slice(0, kubernetes.index) + block + corefile.slice(kubernetes.index);
}
