/**
 * A real HAProxy 2.6 (master-worker) with the real Data Plane API v3 beside it, configured as
 * src/haproxy/dataplane/README.md describes, optionally inside a network namespace.
 */
import { chmodSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { DataPlaneClientOptions } from '../../src/haproxy/dataplane/client.js';
import { HarnessDataPlaneClient } from './dataplane-client.js';
import { dataplaneConfigYaml, haproxyBaseConfig, reloadScript } from './dataplane-config.js';
import { freePort } from './ports.js';
import { sleep, startProcess, waitFor, type ManagedProcess } from './processes.js';
import { isToolUnavailable, toolPath, type ToolName } from './tools.js';

export const DATAPLANE_USER = 'admin';
export const DATAPLANE_PASSWORD = 'local-test';

export interface DataplaneOptions {
  readonly tmpDir: string;
  /** Distinguishes several instances in one suite (process and directory names). */
  readonly name?: string;
  /** Run both processes in this namespace; the API then listens on `host`. */
  readonly netns?: string;
  /** Address the API listens on (default 127.0.0.1). */
  readonly host?: string;
  /**
   * For an API this process cannot reach where it listens (inside `netns`): called with that
   * address before the first request, it makes the API reachable (a relay, say) and returns the
   * address to use from here instead. `url` and client() use the returned one.
   */
  readonly reachVia?: (listening: { host: string; port: number }) => Promise<{ host: string; port: number }>;
  /** The API's password (default DATAPLANE_PASSWORD), as a pod reads it from its Secret. */
  readonly password?: string;
  /** The port the API listens on (default: a free one), for a URL known before it starts. */
  readonly port?: number;
}

export interface LocalDataplane {
  /** The API root, e.g. http://127.0.0.1:40123/v3. */
  readonly url: string;
  readonly haproxy: ManagedProcess;
  readonly api: ManagedProcess;
  client(overrides?: Partial<DataPlaneClientOptions>): HarnessDataPlaneClient;
  /** PID of HAProxy's current worker: it changes on every reload and on nothing else. */
  workerPid(): Promise<number>;
  /** The master's reload counter ("show proc"): how many reloads HAProxy has done. */
  reloads(): Promise<number>;
}

/** HAIRPIN_REQUIRE_DATAPLANEAPI=1 (CI's test job): a Data Plane API suite may not skip; it fails. */
export const REQUIRE_DATAPLANEAPI_VARIABLE = 'HAIRPIN_REQUIRE_DATAPLANEAPI';

/**
 * The binaries it needs, or why they cannot be had here: suites skip with that reason. The Data
 * Plane API is the one a machine may lack (its Go modules are not on every module proxy).
 * - For the Data Plane API only "not obtainable here" is a reason to skip: hack/tools's exit 3, or
 *   an override (HAIRPIN_TOOL_DATAPLANEAPI=…) naming no executable file. Any other failure of
 *   `hack/tools path dataplaneapi` (a build that broke, a binary that is not the pinned version)
 *   rejects, so the suite fails with it.
 * - Where HAIRPIN_REQUIRE_DATAPLANEAPI=1, a skip becomes a failure too: this rejects with the
 *   reason, and each suite that would have skipped fails to load, naming it.
 */
export async function dataplaneTools(): Promise<{ ok: true; haproxy: string; dataplaneapi: string } | { ok: false; reason: string }> {
  const [haproxy, dataplaneapi, socat] = await Promise.allSettled([runnable('haproxy'), runnable('dataplaneapi'), runnable('socat')]);
  if (haproxy.status === 'fulfilled' && dataplaneapi.status === 'fulfilled' && socat.status === 'fulfilled') {
    return { ok: true, haproxy: haproxy.value, dataplaneapi: dataplaneapi.value };
  }
  if (dataplaneapi.status === 'rejected' && !isToolUnavailable(dataplaneapi.reason) && !isNotExecutable(dataplaneapi.reason)) {
    throw new Error(`the Data Plane API suites cannot run: ${messageOf(dataplaneapi.reason)}`);
  }
  const reason = [haproxy, dataplaneapi, socat].flatMap((r) => (r.status === 'rejected' ? [messageOf(r.reason)] : [])).join('; ');
  if (process.env[REQUIRE_DATAPLANEAPI_VARIABLE] === '1') {
    throw new Error(`${REQUIRE_DATAPLANEAPI_VARIABLE}=1: the Data Plane API suites must run here, but they would skip: ${reason}`);
  }
  return { ok: false, reason };
}

function messageOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'message' in error ? String(error.message) : String(error);
}

/** What runnable() rejects with for an override that names no executable file. */
const NOT_EXECUTABLE = 'notExecutable';
function isNotExecutable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && NOT_EXECUTABLE in error;
}

/**
 * toolPath() takes an override (HAIRPIN_TOOL_DATAPLANEAPI=…) as given: a path to nothing must
 * read as "not available here", not as a process that fails to start later.
 */
async function runnable(name: ToolName): Promise<string> {
  const path = await toolPath(name);
  const file = await stat(path).catch(() => undefined);
  const executable = file?.isFile() === true && (await access(path, constants.X_OK).then(() => true, () => false));
  if (!executable) throw Object.assign(new Error(`${name}: ${path} is not an executable file`), { [NOT_EXECUTABLE]: true });
  return path;
}

/** HAProxy first: the API waits for the runtime socket at start-up and works without it otherwise. */
export async function startDataplane(options: DataplaneOptions): Promise<LocalDataplane> {
  const tools = await dataplaneTools();
  if (!tools.ok) throw new Error(`cannot start HAProxy + Data Plane API: ${tools.reason}`);
  const name = options.name ?? 'hairpin';
  const dir = join(options.tmpDir, `dataplane-${name}`);
  mkdirSync(dir, { recursive: true });
  const paths = {
    config: join(dir, 'haproxy.cfg'),
    runtime: join(dir, 'runtime.sock'),
    master: join(dir, 'master.sock'),
    reload: join(dir, 'reload.sh'),
    yaml: join(dir, 'dataplaneapi.yaml'),
  };
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const password = options.password ?? DATAPLANE_PASSWORD;
  writeFileSync(paths.config, haproxyBaseConfig({ runtimeSocket: paths.runtime }));
  writeFileSync(paths.reload, reloadScript({ masterSocket: paths.master }));
  chmodSync(paths.reload, 0o755);
  writeFileSync(
    paths.yaml,
    dataplaneConfigYaml({
      host,
      port,
      username: DATAPLANE_USER,
      password,
      configFile: paths.config,
      haproxyBin: tools.haproxy,
      reloadScriptPath: paths.reload,
      stateDir: join(dir, 'state'),
    }),
  );
  const netns = options.netns ? { netns: options.netns } : {};
  const haproxy = startProcess({ name: `haproxy-${name}`, command: tools.haproxy, args: ['-W', '-S', paths.master, '-f', paths.config], logDir: options.tmpDir, ...netns });
  await waitFor(() => existsSync(paths.runtime), { timeoutMs: 10_000, what: 'the HAProxy runtime socket' });
  const api = startProcess({ name: `dataplaneapi-${name}`, command: tools.dataplaneapi, args: ['-f', paths.yaml], logDir: options.tmpDir, ...netns });
  const reached = options.reachVia ? await options.reachVia({ host, port }) : { host, port };
  const url = `http://${reached.host}:${reached.port}/v3`;
  const client = (overrides: Partial<DataPlaneClientOptions> = {}) =>
    new HarnessDataPlaneClient({ baseURL: url, username: DATAPLANE_USER, password, timeoutMs: 5_000, baseDelayMs: 50, reloadPollMs: 100, ...overrides });
  const probe = client({ maxAttempts: 1, timeoutMs: 1_000 });
  await waitFor(() => probe.info().then(() => true, () => false), { timeoutMs: 30_000, what: 'the Data Plane API to answer' });
  const showProc = () => masterCommand(paths.master, 'show proc');
  return {
    url,
    haproxy,
    api,
    client,
    workerPid: async () => {
      // The first line under "# workers" is the current worker.
      const lines = (await showProc()).split('\n');
      const pid = Number(lines[lines.indexOf('# workers') + 1]?.split(/\s+/)[0]);
      if (!Number.isInteger(pid)) throw new Error(`no worker in "show proc":\n${lines.join('\n')}`);
      return pid;
    },
    reloads: async () => {
      // "<pid> master <reloads> [failed: <n>] <uptime> <version>"
      const master = (await showProc()).split('\n').find((line) => /^\d+\s+master\s/.test(line));
      const count = Number(master?.split(/\s+/)[2]);
      if (!Number.isInteger(count)) throw new Error(`no master line in "show proc": ${String(master)}`);
      return count;
    },
  };
}

/**
 * One command on HAProxy's master CLI. While a reload re-executes the master, its socket refuses
 * connections for a moment: retried for up to 5 s.
 */
async function masterCommand(socketPath: string, command: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await masterCommandOnce(socketPath, command);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ECONNREFUSED' && code !== 'ENOENT') || attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

function masterCommandOnce(socketPath: string, command: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const socket = createConnection(socketPath, () => socket.end(`${command}\n`));
    socket.on('data', (chunk) => (out += chunk.toString()));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}
