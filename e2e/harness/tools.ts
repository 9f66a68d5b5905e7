import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (this file is e2e/harness/tools.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Names hack/tools knows (see `hack/tools help`). */
export type ToolName =
  | 'kube-apiserver'
  | 'kubelet'
  | 'kube-proxy'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'etcd'
  | 'coredns'
  | 'dataplaneapi'
  | 'kind'
  | 'external-dns'
  | 'helm'
  | 'actionlint'
  | 'kubectl'
  | 'haproxy'
  | 'nginx'
  | 'pebble'
  | 'pebble-challtestsrv'
  | 'dig'
  | 'ip'
  | 'iptables'
  | 'openssl'
  | 'socat'
  | 'curl'
  | 'wrk'
  | 'containerd'
  | 'ctr'
  | 'runc'
  | 'cni-plugins'
  | 'buildah'
  | 'busybox'
  | 'shellcheck'
  | 'dnsperf'
  | 'gnuplot'
  // Not a binary: the directory of the Gateway API CRDs, {experimental,standard}/*.yaml.
  | 'gateway-api-crds'
  // Not a binary: the DNSEndpoint CRD's YAML file (of EXTERNAL_DNS_VERSION).
  | 'external-dns-crd';

/** A value of hack/versions.env (KEY=value lines, '#' comments), read as hack/tools reads it. */
export function pin(key: string): string {
  for (const line of readFileSync(join(REPO_ROOT, 'hack/versions.env'), 'utf8').split('\n')) {
    const [name, value] = line.trim().split('=', 2);
    if (name === key && value) return value;
  }
  throw new Error(`hack/versions.env has no ${key}`);
}

/** hack/tools's exit code for "not obtainable on this machine": the only failure a suite may skip on. */
export const TOOL_UNAVAILABLE = 3;

/** A failed `hack/tools path NAME`, with its exit code (3: not obtainable here; else a real failure). */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | undefined,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/**
 * Whether an error says the tool cannot be had here (exit 3), read from the error's own fields:
 * errors cross realms under jest's VM modules, where `instanceof` can miss.
 */
export function isToolUnavailable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'exitCode' in error && error.exitCode === TOOL_UNAVAILABLE;
}

/** HAIRPIN_TOOL_KUBE_APISERVER etc.: an explicit binary wins over hack/tools (and is the memo). */
export function toolEnvName(name: ToolName): string {
  return `HAIRPIN_TOOL_${name.toUpperCase().replaceAll('-', '_')}`;
}

const pending = new Map<ToolName, Promise<string>>();

/**
 * The absolute path of a tool: `hack/tools path NAME`, once per name (it installs or builds the
 * tool on a fresh machine, which can take minutes: global-setup.ts warms the cache first). The
 * answer is kept in process.env so later test files and child processes reuse it.
 */
export function toolPath(name: ToolName): Promise<string> {
  const override = process.env[toolEnvName(name)];
  if (override) return Promise.resolve(override);
  let found = pending.get(name);
  if (!found) {
    // env: the test's own process.env (under jest a copy of the real one), which child_process
    // would not otherwise pass on: HAIRPIN_TOOLS_CACHE and the like set by a test reach hack/tools.
    found = run(join(REPO_ROOT, 'hack/tools'), ['path', name], { env: process.env, maxBuffer: 1 << 20, timeout: 30 * 60_000 }).then(
      ({ stdout }) => {
        const path = stdout.trim().split('\n').at(-1) ?? '';
        if (!path.startsWith('/')) throw new Error(`hack/tools path ${name} printed ${JSON.stringify(stdout)}`);
        process.env[toolEnvName(name)] = path;
        return path;
      },
      (error: { code?: number; stderr?: string; message: string }) => {
        pending.delete(name);
        const why = error.code === TOOL_UNAVAILABLE ? 'not obtainable on this machine' : 'failed';
        throw new ToolError(`hack/tools path ${name} ${why} (exit ${error.code}): ${(error.stderr ?? error.message).trim().slice(-2000)}`, error.code);
      },
    );
    pending.set(name, found);
  }
  return found;
}
