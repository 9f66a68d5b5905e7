/**
 * A real CoreDNS fed from the CoreDNS ConfigMap, and a real resolver (dig) to ask it.
 *
 * In a cluster the kubelet projects the ConfigMap into the CoreDNS Pod as a file and refreshes it
 * (~1 min); CoreDNS's `reload` plugin notices the change. Here a syncer polls the ConfigMap every
 * 200 ms and writes the Corefile file atomically (write + rename, as the kubelet's atomic writer
 * does), so the ConfigMap in the apiserver stays exactly what a cluster would hold and the
 * controller under test edits a genuine kubeadm Corefile.
 *
 * The file CoreDNS reads differs from the ConfigMap in two test-only ways, both about the Pod's
 * environment rather than the configuration hairpin-proxy edits:
 *  1. Port 53 in server block keys (`.:53 {`) becomes a random loopback port: a block that names
 *     :53 binds 53 whatever -dns.port says, and port 53 needs root and may be taken.
 *  2. Each `kubernetes` plugin block gains `kubeconfig <admin kubeconfig>`: in a Pod the plugin
 *     uses in-cluster credentials, which do not exist here.
 * Rewriting the ConfigMap itself instead (seeding `.:PORT` and `kubeconfig`) would be simpler but
 * less honest: the controller would then be tested against a Corefile no cluster has.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ControlPlane } from './controlplane.js';
import { freePort } from './ports.js';
import { registerCleanup, startProcess, waitFor, type ManagedProcess } from './processes.js';
import { COREDNS_CONFIGMAP, COREDNS_KEY, COREDNS_NAMESPACE, HAIRPIN_CLUSTER_IP, HAIRPIN_FQDN } from './seed.js';
import { toolPath } from './tools.js';

export interface ConfigMapLocation {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

export interface CoreDnsOptions {
  readonly controlPlane: ControlPlane;
  readonly tmpDir: string;
  readonly configMap?: ConfigMapLocation;
  /**
   * A ConfigMap mounted as a directory, as k3s and AKS mount coredns-custom at mountPath: every key
   * is mirrored into a local directory (missing ConfigMap: an empty one, as an optional volume),
   * and the Corefile's paths under mountPath point there instead.
   */
  readonly mountedConfigMap?: { readonly namespace: string; readonly name: string; readonly mountPath: string };
  /** CoreDNS counts as up once this name resolves to this address (default: the hairpin Service). */
  readonly readyProbe?: { readonly name: string; readonly address: string };
  readonly startTimeoutMs?: number;
  /** For the process and its files, when a test runs several (default coredns). */
  readonly name?: string;
  /** What the Pod's own start-up does to the ConfigMap's text first (node-cache substitutes its pillars). */
  readonly substitute?: (corefile: string) => string;
}

export interface DnsRecord {
  /** The owner name as the server sent it (dig prints it as a FQDN with a trailing dot). */
  readonly name: string;
  readonly ttl: number;
  readonly type: string;
  readonly data: string;
}

export interface DnsAnswer {
  /** NOERROR, NXDOMAIN, SERVFAIL, … ('TIMEOUT' when nothing answered). */
  readonly status: string;
  /** The question as the server echoed it, case preserved (what DNS-0x20 resolvers check). */
  readonly question: string | undefined;
  readonly answers: readonly DnsRecord[];
}

export interface CoreDns {
  readonly port: number;
  readonly corefilePath: string;
  readonly process: ManagedProcess;
  /** The ConfigMap text last copied to the file (before the test-only substitutions). */
  lastSynced(): string | undefined;
  /** Asks CoreDNS with dig; returns the status, the echoed question and the answer section with owner names. */
  resolve(name: string, type?: string): Promise<DnsAnswer>;
  /** The addresses of the A (or AAAA) records whose owner is exactly the asked name. */
  addressesOf(name: string, type?: string): Promise<string[]>;
  stop(): Promise<void>;
}

const DEFAULT_LOCATION: ConfigMapLocation = { namespace: COREDNS_NAMESPACE, name: COREDNS_CONFIGMAP, key: COREDNS_KEY };
const SYNC_INTERVAL_MS = 200;

/** The two documented substitutions (see the file comment), and a mount's path. Exported for its unit-level use. */
export function localizeCorefile(corefile: string, port: number, kubeconfigPath: string, mount?: { readonly from: string; readonly to: string }): string {
  const mounted = mount ? corefile.replaceAll(`${mount.from}/`, `${mount.to}/`) : corefile;
  return localizeBlocks(mounted, port, kubeconfigPath);
}

function localizeBlocks(corefile: string, port: number, kubeconfigPath: string): string {
  const lines = corefile.split('\n');
  let depth = 0;
  const out: string[] = [];
  for (const line of lines) {
    const code = line.replace(/#.*$/, '');
    let localized = line;
    if (depth === 0 && code.includes('{')) {
      // A server block header: its keys are everything before the brace.
      const brace = line.indexOf('{');
      localized = line.slice(0, brace).replace(/:53(?=\s|$)/g, `:${port}`) + line.slice(brace);
    }
    out.push(localized);
    if (depth >= 1 && /^\s*kubernetes(\s|$)/.test(code)) {
      if (code.includes('{')) out.push(`       kubeconfig ${kubeconfigPath}`);
      else {
        out[out.length - 1] = `${line} {`;
        out.push(`       kubeconfig ${kubeconfigPath}`, '    }');
      }
    }
    for (const ch of code) {
      if (ch === '{') depth += 1;
      else if (ch === '}') depth = Math.max(0, depth - 1);
    }
  }
  return out.join('\n');
}

export async function startCoreDns(options: CoreDnsOptions): Promise<CoreDns> {
  const { controlPlane, tmpDir } = options;
  const location = options.configMap ?? DEFAULT_LOCATION;
  const probe = options.readyProbe ?? { name: HAIRPIN_FQDN, address: HAIRPIN_CLUSTER_IP };
  const [corednsBin, digBin] = await Promise.all([toolPath('coredns'), toolPath('dig')]);
  const port = await freePort();
  const name = options.name ?? 'coredns';
  const corefilePath = join(tmpDir, options.name ? `${name}.Corefile` : 'Corefile');
  const core = controlPlane.kubeConfig('admin').makeApiClient(CoreV1Api);
  const mountDir = join(tmpDir, `${name}-mounted`);
  const mount = options.mountedConfigMap ? { from: options.mountedConfigMap.mountPath, to: mountDir } : undefined;
  if (mount) mkdirSync(mountDir, { recursive: true });
  /** Keys as files, written atomically like the kubelet's projection; removed keys go. */
  const mirror = async () => {
    const source = options.mountedConfigMap;
    if (!source) return;
    const configMap = await core.readNamespacedConfigMap(source).catch((error: unknown) => {
      if ((error as { code?: number }).code === 404) return { data: {} };
      throw error;
    });
    const data: Record<string, string> = configMap.data ?? {};
    for (const [key, value] of Object.entries(data)) {
      const file = join(mountDir, key);
      if (existsSync(file) && readFileSync(file, 'utf8') === value) continue;
      writeFileSync(`${file}.tmp`, value);
      renameSync(`${file}.tmp`, file);
    }
    for (const file of readdirSync(mountDir)) if (!(file in data)) rmSync(join(mountDir, file));
  };

  let synced: string | undefined;
  let syncError: unknown;
  const syncOnce = async () => {
    try {
      await mirror();
      const configMap = await core.readNamespacedConfigMap({ namespace: location.namespace, name: location.name });
      const text = configMap.data?.[location.key];
      syncError = undefined;
      if (text === undefined || text === synced) return;
      const tmp = `${corefilePath}.tmp`;
      writeFileSync(tmp, localizeCorefile(options.substitute ? options.substitute(text) : text, port, controlPlane.adminKubeconfigPath, mount));
      renameSync(tmp, corefilePath);
      synced = text;
    } catch (error) {
      syncError = error; // the apiserver may be down on purpose; like the kubelet, keep the last file
    }
  };
  let syncing = true;
  let loop: Promise<void> = Promise.resolve();
  const runLoop = async () => {
    while (syncing) {
      await syncOnce();
      await new Promise((resolve) => setTimeout(resolve, SYNC_INTERVAL_MS));
    }
  };
  await waitFor(
    async () => {
      await syncOnce();
      return synced !== undefined;
    },
    { timeoutMs: 30_000, what: `ConfigMap ${location.namespace}/${location.name} key ${location.key} (last error: ${String(syncError)})` },
  );
  loop = runLoop();
  const stopSyncer = async () => {
    syncing = false;
    await loop;
  };
  registerCleanup('stop the Corefile syncer', stopSyncer);

  const corednsProcess = startProcess({
    name,
    command: corednsBin,
    args: ['-conf', corefilePath, '-dns.port', String(port)],
    logDir: tmpDir,
  });

  const resolve = (name: string, type = 'A'): Promise<DnsAnswer> => digAt(digBin, port, name, type);
  const addressesOf = async (name: string, type = 'A') => addressesIn(await resolve(name, type), name, type);

  await waitFor(async () => (await addressesOf(probe.name)).includes(probe.address), {
    timeoutMs: options.startTimeoutMs ?? 30_000,
    intervalMs: 200,
    what: `CoreDNS on 127.0.0.1:${port} to answer ${probe.name} with ${probe.address}`,
  });

  return {
    port,
    corefilePath,
    process: corednsProcess,
    lastSynced: () => synced,
    resolve,
    addressesOf,
    async stop() {
      await stopSyncer();
      await corednsProcess.stop();
    },
  };
}

/** One question to a DNS server on 127.0.0.1:port with dig (one try, 2 s), parsed by parseDig. */
export function digAt(digBin: string, port: number, name: string, type = 'A'): Promise<DnsAnswer> {
  return new Promise((done, fail) => {
    execFile(
      digBin,
      [`@127.0.0.1`, '-p', String(port), '+noall', '+answer', '+question', '+comments', '+tries=1', '+time=2', name, type],
      { timeout: 10_000 },
      (error, stdout) => {
        // dig exits 9 when no server answered; any other failure is a harness problem.
        if (error && error.code !== 9) return fail(new Error(`dig ${name} ${type} failed: ${error.message}`));
        done(parseDig(stdout));
      },
    );
  });
}

/** The data of the answer's records of this type whose owner is exactly name (case-insensitive). */
export function addressesIn(answer: DnsAnswer, name: string, type = 'A'): string[] {
  const asked = `${name.replace(/\.$/, '')}.`.toLowerCase();
  return answer.answers.filter((r) => r.type === type && r.name.toLowerCase() === asked).map((r) => r.data);
}

/** Parses `dig +noall +answer +question +comments` output. */
export function parseDig(output: string): DnsAnswer {
  const status = /status: ([A-Z]+)/.exec(output)?.[1] ?? 'TIMEOUT';
  let question: string | undefined;
  const answers: DnsRecord[] = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    // The question section: ";NAME.  IN  TYPE" (comments start with ";;").
    const asked = /^;([^;\s]+)\s+IN\s+\S+\s*$/.exec(line);
    if (asked) question ??= asked[1];
    if (line.startsWith(';')) continue;
    const [name, ttl, klass, type, ...data] = line.trim().split(/\s+/);
    if (!name || !ttl || klass !== 'IN' || !type) continue;
    answers.push({ name, ttl: Number(ttl), type, data: data.join(' ') });
  }
  return { status, question, answers };
}
