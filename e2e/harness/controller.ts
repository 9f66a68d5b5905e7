/**
 * The real controller as a process (`node dist/cli.js run …`) under its own identity, with
 * helpers to read its JSON log lines and scrape its /metrics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from './build.js';
import { DATAPLANE_PASSWORD } from './dataplane.js';
import type { ControlPlane } from './controlplane.js';
import { freePort } from './ports.js';
import { startProcess, waitFor, type ManagedProcess } from './processes.js';
import { REPO_ROOT } from './tools.js';

export interface ControllerOptions {
  readonly controlPlane: ControlPlane;
  readonly tmpDir: string;
  /** More flags for `run`, e.g. ['--ingress-class', 'nginx']. */
  readonly args?: readonly string[];
  /** Wait for /readyz (informers synced and a first full sync succeeded). Default true. */
  readonly waitReady?: boolean;
  /** Run as the admin instead of the controller's own identity (never, unless a test says why). */
  readonly asAdmin?: boolean;
  readonly name?: string;
  /** The subcommand and its own flags (default ['run']), e.g. ['hosts-file', '--hosts-path', file]. */
  readonly command?: readonly string[];
  /**
   * Data Plane API URLs of HAProxy replicas this test started (always local). Without them the
   * controller runs with --no-manage-haproxy: the seeded hairpin EndpointSlice names an address
   * no process here owns, and discovery would send the controller's requests to it.
   */
  readonly dataplaneUrls?: readonly string[];
  /** The Data Plane API password it is given (default the harness's); null: none, it reads its Secret. */
  readonly dataplanePassword?: string | null;
  /** A command that execs its arguments (e.g. into a memory cgroup), and node's own flags (as the image's). */
  readonly launcher?: { readonly command: readonly string[]; readonly nodeFlags?: readonly string[] };
}

/** One pino JSON line. */
export interface LogLine {
  readonly level: string;
  readonly time: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface ControllerProcess {
  readonly process: ManagedProcess;
  readonly port: number;
  /** Every JSON log line so far (non-JSON lines, e.g. a crash trace, are skipped). */
  logs(): LogLine[];
  /** Waits for a log line (at index >= fromIndex) matching predicate; returns it. */
  waitForLog(predicate: (line: LogLine) => boolean, what: string, options?: { timeoutMs?: number; fromIndex?: number }): Promise<LogLine>;
  /** The /metrics text. */
  metrics(): Promise<string>;
  /** The value of one sample (0 when absent), e.g. metric('hairpin_proxy_writes_total', { target: 'coredns' }). */
  metric(name: string, labels?: Readonly<Record<string, string>>): Promise<number>;
  /** hairpin_proxy_writes_total{target="coredns"}: how many times it wrote the Corefile. */
  writesTotal(): Promise<number>;
  /** GET /readyz answered 200. */
  ready(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startController(options: ControllerOptions): Promise<ControllerProcess> {
  ensureBuilt();
  const cli = join(REPO_ROOT, 'dist/cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing after the build`);
  const port = await freePort();
  const { controlPlane, tmpDir } = options;
  const managed = startProcess({
    name: options.name ?? 'controller',
    // process.execPath: the Node that runs jest, i.e. the node@24 devDependency under npx/npm.
    command: options.launcher?.command[0] ?? process.execPath,
    args: [
      ...(options.launcher ? [...options.launcher.command.slice(1), process.execPath, ...(options.launcher.nodeFlags ?? [])] : []),
      cli,
      ...(options.command ?? ['run']),
      '--kubeconfig',
      options.asAdmin ? controlPlane.adminKubeconfigPath : controlPlane.controllerKubeconfigPath,
      '--listen-address',
      `127.0.0.1:${port}`,
      '--resync',
      '30s',
      '--log-level',
      'debug',
      ...(options.dataplaneUrls?.length ? options.dataplaneUrls.flatMap((url) => ['--dataplane-url', url]) : ['--no-manage-haproxy']),
      ...(options.args ?? []),
    ],
    logDir: tmpDir,
    cwd: REPO_ROOT,
    // The harness's Data Plane APIs all share one test password (dataplane.ts).
    env: options.dataplanePassword === null ? {} : { HAIRPIN_DATAPLANE_PASSWORD: options.dataplanePassword ?? DATAPLANE_PASSWORD },
  });
  const base = `http://127.0.0.1:${port}`;

  const logs = (): LogLine[] => {
    if (!existsSync(managed.logPath)) return [];
    const lines: LogLine[] = [];
    for (const raw of readFileSync(managed.logPath, 'utf8').split('\n')) {
      if (!raw.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(raw) as LogLine);
      } catch {
        // a partly written last line
      }
    }
    return lines;
  };
  const metrics = async () => {
    const response = await fetch(`${base}/metrics`);
    if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
    return response.text();
  };
  const metric = async (name: string, labels: Readonly<Record<string, string>> = {}) => metricValue(await metrics(), name, labels);

  const controller: ControllerProcess = {
    process: managed,
    port,
    logs,
    async waitForLog(predicate, what, opts = {}) {
      return waitFor(() => logs().slice(opts.fromIndex ?? 0).find(predicate), { timeoutMs: opts.timeoutMs ?? 30_000, what: `controller log: ${what}` });
    },
    metrics,
    metric,
    writesTotal: () => metric('hairpin_proxy_writes_total', { target: 'coredns' }),
    async ready() {
      try {
        return (await fetch(`${base}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    async stop() {
      await managed.stop();
    },
  };
  if (options.waitReady ?? true) {
    await waitFor(() => controller.ready(), { timeoutMs: 30_000, intervalMs: 100, what: `controller ${base}/readyz` });
  }
  return controller;
}

/** One sample of the Prometheus text format; labels must all match (others may be present). */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) return Number(match[4]);
  }
  return 0;
}
