/**
 * What the controller benchmarks share: a real apiserver + etcd seeded as the suites seed it, the
 * real controller as a process, Ingresses created in bulk, a watch on the CoreDNS ConfigMap that
 * timestamps every revision the controller writes, and the controller's resident memory.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetworkingV1Api, Watch } from '@kubernetes/client-node';
import {
  COREDNS_CONFIGMAP,
  COREDNS_KEY,
  COREDNS_NAMESPACE,
  ingress,
  cleanupAll,
  makeTmpDir,
  registerCleanup,
  seedCluster,
  startControlPlane,
  startController,
  waitFor,
  type ControlPlane,
  type ControllerProcess,
} from '../e2e/harness/index.js';

export interface CorefileRevision {
  /** performance.now() when the watch event arrived. */
  readonly at: number;
  readonly resourceVersion: string;
  readonly corefile: string;
}

export interface BenchCluster {
  readonly plane: ControlPlane;
  readonly tmpDir: string;
  /** Every Corefile revision seen since the watch started, in order. */
  readonly revisions: CorefileRevision[];
  /** Stops the watch, then every process and temp dir (cleanupAll). */
  close(): Promise<void>;
  createIngress(name: string, hosts: readonly string[]): Promise<void>;
  /** Replaces an Ingress's hosts (read, then replace: an update event, not a create). */
  setIngressHosts(name: string, hosts: readonly string[]): Promise<void>;
  /** Creates count Ingresses (hostsOf(i) each), concurrency at a time; returns the milliseconds it took. */
  createIngresses(count: number, hostsOf: (i: number) => readonly string[], options?: { concurrency?: number; name?: (i: number) => string }): Promise<number>;
  /** Resolves with the first revision (at index >= from) whose Corefile routes every one of hosts. */
  waitForRouted(hosts: readonly string[], options?: { from?: number; timeoutMs?: number }): Promise<CorefileRevision>;
  /**
   * The controller with flags; memoryLimitMib runs it as deploy/ does: in a memory cgroup of that
   * size, with the image's heap flag (V8 sizes its heap from the cgroup limit).
   */
  startController(args?: readonly string[], options?: { waitReady?: boolean; memoryLimitMib?: number }): Promise<ControllerProcess>;
}

export async function startBenchCluster(label: string): Promise<BenchCluster> {
  const tmpDir = makeTmpDir(label);
  // The default rate limits of a test apiserver would make bulk creation the slowest part.
  const plane = await startControlPlane({ tmpDir, extraArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'] });
  await seedCluster(plane, { rbac: 'shipped' });
  const networking = plane.kubeConfig('admin').makeApiClient(NetworkingV1Api);
  const revisions: CorefileRevision[] = [];
  const stopWatching = await watchCorefile(plane, revisions);

  const createIngress = async (name: string, hosts: readonly string[]) => {
    await networking.createNamespacedIngress({ namespace: 'default', body: ingress({ name, hosts }) as never });
  };
  return {
    plane,
    tmpDir,
    revisions,
    async close() {
      stopWatching();
      await cleanupAll();
    },
    createIngress,
    async setIngressHosts(name, hosts) {
      const current = await networking.readNamespacedIngress({ name, namespace: 'default' });
      const body = ingress({ name, hosts }) as { metadata: { resourceVersion?: string } };
      body.metadata.resourceVersion = current.metadata?.resourceVersion;
      await networking.replaceNamespacedIngress({ name, namespace: 'default', body: body as never });
    },
    async createIngresses(count, hostsOf, { concurrency = 32, name = (i: number) => `bench-${i}` } = {}) {
      const started = performance.now();
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++) await createIngress(name(i), hostsOf(i));
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return performance.now() - started;
    },
    async waitForRouted(hosts, { from = 0, timeoutMs = 60_000 } = {}) {
      // Each revision is tested once: a Corefile of 20,000 hosts is not re-parsed every 5 ms.
      let next = from;
      const what = `a Corefile revision routing ${hosts.length === 1 ? hosts[0] : `${hosts.length} hosts`}`;
      return waitFor(
        () => {
          for (; next < revisions.length; next++) {
            const revision = revisions[next] as CorefileRevision;
            const routes = routedBy(revision.corefile);
            if (hosts.every(routes)) return revision;
          }
          return undefined;
        },
        { timeoutMs, intervalMs: 5, what },
      );
    },
    startController: (args = [], { waitReady = true, memoryLimitMib } = {}) =>
      startController({
        controlPlane: plane,
        tmpDir,
        waitReady,
        args: ['--log-level', 'info', ...args],
        ...(memoryLimitMib ? { launcher: { command: memoryCgroup(memoryLimitMib), nodeFlags: IMAGE_NODE_FLAGS } } : {}),
      }),
  };
}

/**
 * Watches the CoreDNS ConfigMap; each event is stamped on arrival, before anything else runs. The
 * watch is resumed from the last revision whenever it ends (client-node ends a quiet watch after
 * its inactivity timeout, e.g. while Ingresses are being created in bulk).
 */
async function watchCorefile(plane: ControlPlane, revisions: CorefileRevision[]): Promise<() => void> {
  const watch = new Watch(plane.kubeConfig('admin'));
  const path = `/api/v1/namespaces/${COREDNS_NAMESPACE}/configmaps`;
  let stopping = false;
  let request: AbortController | undefined;
  const onEvent = (_type: string, object: { metadata?: { resourceVersion?: string }; data?: Record<string, string> }) => {
    revisions.push({ at: performance.now(), resourceVersion: object.metadata?.resourceVersion ?? '', corefile: object.data?.[COREDNS_KEY] ?? '' });
  };
  const start = async (): Promise<void> => {
    const resourceVersion = revisions.at(-1)?.resourceVersion;
    request = await watch.watch(path, { fieldSelector: `metadata.name=${COREDNS_CONFIGMAP}`, ...(resourceVersion ? { resourceVersion } : {}) }, onEvent, () => {
      if (!stopping) start().catch((error: unknown) => process.stderr.write(`bench: cannot resume the ConfigMap watch: ${String(error)}\n`));
    });
  };
  await start();
  await waitFor(() => revisions.length > 0, { timeoutMs: 10_000, what: 'the ConfigMap watch to start' });
  return () => {
    stopping = true;
    request?.abort();
  };
}

/**
 * Whether a Corefile's rewrite rules route a host, read the way CoreDNS reads them (its regexes
 * are RE2; the subset our rules use means the same in JavaScript): hosts in grouped or compacted
 * rules do not appear verbatim, so searching the text would not do.
 */
export function routedBy(corefile: string): (host: string) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const match of corefile.matchAll(/^\s*rewrite (?:stop |continue )?name (exact|regex) (\S+) /gm)) {
    const [, type, from = ''] = match;
    if (type === 'exact') exact.add(from.replace(/\.$/, ''));
    else patterns.push(new RegExp(from));
  }
  return (host) => exact.has(host) || patterns.some((pattern) => pattern.test(`${host}.`));
}

/** The Dockerfile's ENTRYPOINT flags for node. */
const IMAGE_NODE_FLAGS = ['--max-old-space-size-percentage=50'];

/**
 * A memory cgroup of limitMib (v2 where the unified hierarchy has the memory controller, else
 * v1), removed at cleanup; returns a launcher that moves itself into it and execs its arguments,
 * so the controller starts inside the limit, as in a Pod.
 */
function memoryCgroup(limitMib: number): string[] {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers') && readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('memory');
  const dir = join(v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory', `hp-bench-${process.pid}-${Date.now()}`);
  mkdirSync(dir);
  writeFileSync(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(limitMib * 1024 * 1024));
  registerCleanup(`remove cgroup ${dir}`, () => rmdirSync(dir));
  return ['/bin/sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh'];
}

/** The process's resident set now and its peak so far, in MiB (Linux /proc). */
export function residentMib(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
