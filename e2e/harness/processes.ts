/**
 * Real processes for integration tests: each runs detached in its own process group with its
 * output in a log file, is registered so that cleanupAll() ends it even when a test fails, and
 * contributes the tail of its log to every harness failure message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StartOptions {
  /** Short, unique within a test file: names the log file and the process in failure output. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The test's temp dir; the log goes to <logDir>/<name>.log. */
  readonly logDir: string;
  /** Run inside this network namespace (`ip netns exec NS command args`). */
  readonly netns?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const STOP_GRACE_MS = 5_000;
const KILL_WAIT_MS = 5_000;
/** At cleanup nothing needs a graceful end (CoreDNS's lameduck alone would add 5 s per suite). */
const CLEANUP_GRACE_MS = 1_000;

export class ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  private child: ChildProcess | undefined;
  private exitInfo: ExitInfo | undefined;
  private exitPromise: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  /** Set by stop(): an exit we asked for is not a failure. */
  private stopping = false;
  private starts = 0;

  constructor(private readonly options: StartOptions) {
    this.name = options.name;
    this.logPath = join(options.logDir, `${options.name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** How it exited; undefined while it runs (or before it ever ran). */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** True when the process ended without stop() being called: a crash, as far as tests care. */
  get exitedUnexpectedly(): boolean {
    return this.exitInfo !== undefined && !this.stopping;
  }

  /** How many times it has been started (restarts included). */
  get startCount(): number {
    return this.starts;
  }

  start(): this {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    const { command, args, netns } = this.options;
    const [file, argv] = netns ? ['ip', ['netns', 'exec', netns, command, ...args]] : [command, [...args]];
    const log = openSync(this.logPath, 'a');
    this.stopping = false;
    this.exitInfo = undefined;
    this.starts += 1;
    try {
      const child = spawn(file, argv, {
        detached: true, // its own process group: stop() signals the whole group
        stdio: ['ignore', log, log],
        env: { ...process.env, ...this.options.env },
        cwd: this.options.cwd,
      });
      this.child = child;
      this.exitPromise = new Promise<ExitInfo>((resolve) => {
        child.once('error', (error) => {
          this.exitInfo ??= { code: -1, signal: null };
          appendNote(this.logPath, `[harness] could not start ${file}: ${error.message}`);
          resolve(this.exitInfo);
        });
        child.once('exit', (code, signal) => {
          this.exitInfo = { code, signal };
          resolve(this.exitInfo);
        });
      });
    } finally {
      closeSync(log);
    }
    liveGroups.add(this);
    return this;
  }

  /** SIGTERM to the group, a bounded wait, then SIGKILL. Resolves once the process is gone. */
  async stop(graceMs = STOP_GRACE_MS): Promise<ExitInfo | undefined> {
    if (!this.child) return undefined;
    this.stopping = true;
    if (this.running) {
      this.signalGroup('SIGTERM');
      if (!(await this.exitWithin(graceMs))) {
        this.signalGroup('SIGKILL');
        if (!(await this.exitWithin(KILL_WAIT_MS))) throw new Error(`${this.name} (pid ${this.pid}) survived SIGKILL`);
      }
    }
    // Anything the leader left behind in its group goes too.
    this.signalGroup('SIGKILL');
    liveGroups.delete(this);
    return this.exitInfo;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  /** Resolves with the exit; never rejects. */
  waitForExit(): Promise<ExitInfo> {
    return this.exitPromise;
  }

  /** The last n lines of the log, each cut to a readable length. */
  tail(lines = 40): string {
    if (!existsSync(this.logPath)) return '(no log)';
    const all = readFileSync(this.logPath, 'utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return all
      .slice(-lines)
      .map((line) => (line.length > 600 ? `${line.slice(0, 600)} …(${line.length} chars)` : line))
      .join('\n');
  }

  describe(): string {
    const state = this.running
      ? `running, pid ${this.pid}`
      : this.exitInfo
        ? `exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal})${this.stopping ? '' : ' UNEXPECTEDLY'}`
        : 'never started';
    return `${this.name} [${state}] log ${this.logPath}`;
  }

  /** SIGKILL without waiting: for the synchronous process-exit hook. */
  killNow(): void {
    this.stopping = true;
    this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone
    }
  }

  private async exitWithin(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const exited = this.exitPromise.then(() => true as const);
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function appendNote(path: string, note: string): void {
  try {
    appendFileSync(path, `${note}\n`);
  } catch {
    // best effort
  }
}

// ---------------------------------------------------------------------------------------------
// Registry: everything a test file started, and everything it must undo.
// ---------------------------------------------------------------------------------------------

const processes: ManagedProcess[] = [];
/** Process groups that may still be alive, for the synchronous exit hook. */
const liveGroups = new Set<ManagedProcess>();
const cleanups: Array<{ label: string; run: () => Promise<void> | void }> = [];

/** Starts and registers a process. */
export function startProcess(options: StartOptions): ManagedProcess {
  if (processes.some((p) => p.name === options.name && p.logPath === join(options.logDir, `${options.name}.log`))) {
    throw new Error(`a process named ${options.name} is already registered in ${options.logDir}`);
  }
  const managed = new ManagedProcess(options);
  processes.push(managed);
  installExitHook();
  return managed.start();
}

export function registeredProcesses(): readonly ManagedProcess[] {
  return processes;
}

/** Runs at cleanupAll(), after every process has stopped, in reverse order of registration. */
export function registerCleanup(label: string, run: () => Promise<void> | void): void {
  cleanups.push({ label, run });
}

/**
 * Stops every registered process (in parallel), then runs the cleanups last-first. Never throws
 * before everything has been tried; throws one error listing what failed at the end.
 */
export async function cleanupAll(): Promise<void> {
  const failures: string[] = [];
  const stopping = processes.splice(0).map((p) => p.stop(CLEANUP_GRACE_MS).catch((error: unknown) => void failures.push(`${p.name}: ${String(error)}`)));
  await Promise.all(stopping);
  for (const { label, run } of cleanups.splice(0).reverse()) {
    try {
      await run();
    } catch (error) {
      failures.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
}

/** The tail of every registered process's log, for failure output. */
export function logTails(lines = 40): string {
  if (processes.length === 0) return '';
  return processes.map((p) => `\n----- ${p.describe()} (last ${lines} lines) -----\n${p.tail(lines)}`).join('\n');
}

/** Appends the log tails to an error's message (and its stack, which is what jest prints). */
export function attachLogTails(error: unknown, lines = 40): unknown {
  const tails = logTails(lines);
  if (!tails || !(error instanceof Error) || (error as { logsAttached?: boolean }).logsAttached) return error;
  const original = error.message;
  const keep = process.env.HAIRPIN_KEEP_TMP === '1' ? '' : ' (HAIRPIN_KEEP_TMP=1 keeps the whole logs after the run)';
  error.message = `${original}\n\nProcess logs${keep}:${tails}`;
  (error as { logsAttached?: boolean }).logsAttached = true;
  return error;
}

/**
 * Wraps a test body (or a beforeAll) so that any failure, an expect() included, carries the
 * tail of every process's log: `it('…', withLogs(async () => { … }))`.
 */
export function withLogs(fn: () => Promise<void> | void): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (error) {
      throw attachLogTails(error);
    }
  };
}

/** Throws when a registered process ended without stop(): waiting any longer is pointless. */
export function assertNoCrashes(): void {
  const crashed = processes.filter((p) => p.exitedUnexpectedly);
  if (crashed.length > 0) throw new Error(`process exited unexpectedly: ${crashed.map((p) => p.describe()).join('; ')}`);
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** What is awaited, for the timeout message: "the Corefile to contain shop.example.com". */
  readonly what: string;
  /** Keep waiting even when a registered process exits unexpectedly (default false). */
  readonly ignoreCrashes?: boolean;
}

/**
 * Polls predicate until it returns a truthy value (which is returned) or timeoutMs passes. A
 * predicate that throws counts as "not yet"; its last error is reported. On timeout (or when a
 * process crashes) throws an error with the last value seen and every process's log tail.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  const { timeoutMs, intervalMs = 100, what } = options;
  const started = Date.now();
  let lastError: unknown;
  let lastValue: unknown;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
      lastValue = value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (!options.ignoreCrashes) {
      try {
        assertNoCrashes();
      } catch (error) {
        throw attachLogTails(new Error(`while waiting for ${what}: ${(error as Error).message}`));
      }
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const detail =
        lastError !== undefined
          ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
          : `last value: ${JSON.stringify(lastValue)}`;
      throw attachLogTails(new Error(`timed out after ${elapsed} ms (${attempts} attempts) waiting for ${what}; ${detail}`));
    }
    await sleep(Math.min(intervalMs, timeoutMs - elapsed));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// If jest (or anything) exits without cleanupAll(), no process group may outlive it.
const EXIT_HOOK = Symbol.for('hairpin-proxy.e2e.exit-hook');
type HookHost = { [EXIT_HOOK]?: Set<Set<ManagedProcess>> };
function installExitHook(): void {
  const host = process as unknown as HookHost;
  if (!host[EXIT_HOOK]) {
    const sets = new Set<Set<ManagedProcess>>();
    host[EXIT_HOOK] = sets;
    process.once('exit', () => {
      for (const set of sets) for (const p of set) p.killNow();
    });
  }
  host[EXIT_HOOK].add(liveGroups);
}
