/**
 * One CoreDNS under load: the real binary pinned to one core, with a Corefile of our choosing, and
 * dnsperf pinned to the other core asking it a fixed list of questions for a bounded time.
 *
 * The rewritten names are answered by a `template` stub rather than the `kubernetes` plugin
 * against an apiserver: every configuration (no rules, ours, the original's) answers through the
 * same stub, so the difference between them is the rewrite rules alone, and no watch traffic or
 * apiserver latency on this shared 2-core machine adds noise to the figures.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { digAt, freePort, REPO_ROOT, startProcess, toolPath, waitFor, type ManagedProcess } from '../e2e/harness/index.js';

const run = promisify(execFile);

/** The address every A question is answered with: the hairpin Service's, as the e2e seed has it. */
export const STUB_ADDRESS = '10.96.100.100';
const CORE_SERVER = '0';
const CORE_CLIENT = '1';
/** USER_HZ: the unit of /proc's CPU times on Linux (100 on every architecture Node runs on). */
const CLOCK_TICKS = 100;

export interface StubDns {
  readonly port: number;
  readonly process: ManagedProcess;
  /** Resident memory of the CoreDNS process now, in KiB. */
  rssKib(): number;
  /** CPU seconds (user + system) the CoreDNS process has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export interface StubOptions {
  readonly tmpDir: string;
  readonly name: string;
  /** `rewrite` lines, or anything else that belongs in the server block before the stub. */
  readonly rules: readonly string[];
  /** Adds `cache SECONDS` (kubeadm's Corefile has `cache 30`). */
  readonly cacheSeconds?: number;
  /** Server blocks to add before the root one (the dedicated-block variant in docs/dns-rules.md). */
  readonly before?: string;
  /** A name the rules route, asked before load starts to check the Corefile works. */
  readonly probe: string;
}

/** The Corefile of one run: the rules, then one stub answering every A question. */
export function stubCorefile(port: number, rules: readonly string[], cacheSeconds?: number, before = ''): string {
  return before + [
    `.:${port} {`,
    ...(cacheSeconds === undefined ? [] : [`    cache ${cacheSeconds}`]),
    ...rules.map((rule) => `    ${rule}`),
    `    template IN A . {`,
    `        answer "{{ .Name }} 30 IN A ${STUB_ADDRESS}"`,
    `    }`,
    `}`,
    '',
  ].join('\n');
}

export async function startStubDns(options: StubOptions): Promise<StubDns> {
  const [coredns, dig] = await Promise.all([toolPath('coredns'), toolPath('dig')]);
  const port = await freePort();
  const corefile = join(options.tmpDir, `${options.name}.Corefile`);
  writeFileSync(corefile, stubCorefile(port, options.rules, options.cacheSeconds, options.before?.replaceAll(':PORT', `:${port}`)));
  const process = startProcess({ name: options.name, command: 'taskset', args: ['-c', CORE_SERVER, coredns, '-conf', corefile, '-dns.port', String(port)], logDir: options.tmpDir });
  await waitFor(
    async () => {
      const answer = await digAt(dig, port, options.probe);
      // Any owner name: the original's format answers with the target's name, not the asked one.
      return answer.answers.some((record) => record.type === 'A' && record.data === STUB_ADDRESS);
    },
    { timeoutMs: 120_000, intervalMs: 200, what: `CoreDNS ${options.name} on 127.0.0.1:${port} to answer ${options.probe}` },
  );
  return {
    port,
    process,
    rssKib: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${process.pid}/status`, 'utf8'))?.[1] ?? NaN),
    cpuSeconds() {
      // /proc/PID/stat: the fields after the command's closing parenthesis; utime and stime are 12th and 13th.
      const fields = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    stop: () => process.stop(1_000).then(() => undefined),
  };
}

export interface LoadResult {
  readonly qps: number;
  readonly completed: number;
  readonly lost: number;
  readonly seconds: number;
}

/**
 * dnsperf against 127.0.0.1:port for at most `seconds` (and, with once, one pass over the file).
 * qps is what was answered per second of the run, so a server slower than the time cap still
 * gets a figure from what it served.
 */
export async function dnsperf(port: number, queryFile: string, options: { readonly seconds: number; readonly once?: boolean }): Promise<LoadResult> {
  const bin = await dnsperfPath();
  const args = ['-c', CORE_CLIENT, bin, '-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(options.seconds), '-q', '100', '-t', '5', ...(options.once ? ['-n', '1'] : [])];
  const { stdout } = await run('taskset', args, { timeout: (options.seconds + 30) * 1000, maxBuffer: 1 << 20 });
  const field = (label: string) => {
    const match = new RegExp(`${label}:\\s+([0-9.]+)`).exec(stdout);
    if (!match?.[1]) throw new Error(`dnsperf printed no "${label}":\n${stdout}`);
    return Number(match[1]);
  };
  return { qps: field('Queries per second'), completed: field('Queries completed'), lost: field('Queries lost'), seconds: field('Run time \\(s\\)') };
}

let dnsperfBin: Promise<string> | undefined;
/** dnsperf is installed on first use (hack/tools path installs it from Debian). */
function dnsperfPath(): Promise<string> {
  dnsperfBin ??= run(join(REPO_ROOT, 'hack/tools'), ['path', 'dnsperf']).then(({ stdout }) => stdout.trim());
  return dnsperfBin;
}
