/**
 * What the fault suites check after each fault, and the small tools they break things with.
 * A fault is judged by what it leaves: the Corefile and HAProxy converged, no human edit lost, one
 * marker block, at most one Event per (object, reason), and no repeated warning or error line.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ensureBuilt } from './build.js';
import type { ControllerProcess, LogLine } from './controller.js';
import type { ControlPlane } from './controlplane.js';
import { DATAPLANE_PASSWORD } from './dataplane.js';
import { registerCleanup, waitFor } from './processes.js';
import { REPO_ROOT } from './tools.js';

interface EventItem {
  readonly metadata: { readonly uid: string };
  readonly involvedObject: { readonly kind: string; readonly namespace?: string; readonly name: string };
  readonly reason: string;
  readonly type: string;
  readonly message: string;
  readonly count?: number;
}

/** Where a fault starts: the Events that exist (uid → count), and how far each controller's log has got. */
export interface FaultWindow {
  readonly eventsBefore: ReadonlyMap<string, number>;
  readonly logsFrom: ReadonlyMap<ControllerProcess, number>;
}

export async function openFault(plane: ControlPlane, controllers: readonly ControllerProcess[]): Promise<FaultWindow> {
  const events = await listEvents(plane);
  return { eventsBefore: new Map(events.map((e) => [e.metadata.uid, e.count ?? 1])), logsFrom: new Map(controllers.map((c) => [c, c.logs().length])) };
}

/** Every Event recorded during the fault: created since it started, or counted again since. */
export async function eventsSince(plane: ControlPlane, window: FaultWindow): Promise<EventItem[]> {
  return (await listEvents(plane)).filter((e) => (e.count ?? 1) > (window.eventsBefore.get(e.metadata.uid) ?? 0));
}

/** Waits (bounded) for an Event of this reason about this object, recorded during the fault. */
export async function awaitEvent(plane: ControlPlane, window: FaultWindow, object: string, reason: string): Promise<EventItem> {
  return waitFor(async () => (await eventsSince(plane, window)).find((e) => e.reason === reason && e.involvedObject.name === object), {
    timeoutMs: 30_000,
    what: `an Event ${reason} about ${object}`,
  });
}

/** (object, reason) pairs with more than one Event object created during the fault. */
export async function duplicateEvents(plane: ControlPlane, window: FaultWindow): Promise<string[]> {
  const counts = new Map<string, number>();
  for (const e of await listEvents(plane)) {
    if (window.eventsBefore.has(e.metadata.uid)) continue;
    const key = `${e.involvedObject.kind}/${e.involvedObject.namespace ?? ''}/${e.involvedObject.name} ${e.reason}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
}

/**
 * Warning and error lines of the fault that repeat one another: the same level, message and
 * subject (the sync key, or the informer for a watch's lines). A finding is reported once, when
 * it appears or changes.
 */
export function repeatedLogLines(window: FaultWindow): string[] {
  const repeated: string[] = [];
  for (const [controller, from] of window.logsFrom) {
    const seen = new Map<string, number>();
    for (const line of controller.logs().slice(from)) {
      if (line.level !== 'warn' && line.level !== 'error') continue;
      const id = `${controller.process.name}: ${line.level} "${line.msg}" ${subjectOf(line)}`;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    for (const [id, n] of seen) if (n > 1) repeated.push(`${id} ×${n}`);
  }
  return repeated;
}

function subjectOf(line: LogLine): string {
  return String(line.key ?? line.informer ?? '');
}

async function listEvents(plane: ControlPlane): Promise<EventItem[]> {
  return (await plane.getJson<{ items: EventItem[] }>(['events', '-A'])).items;
}

/** Applies objects, retrying while the apiserver is away (bounded). */
export async function applyEventually(plane: ControlPlane, objects: object | readonly object[], timeoutMs = 60_000): Promise<void> {
  await waitFor(() => plane.apply(objects).then(() => true), { timeoutMs, intervalMs: 250, what: 'kubectl apply to succeed', ignoreCrashes: true });
}

/**
 * A TCP server that accepts connections and never answers: a hung Data Plane API or apiserver.
 * Records when each connection opened and closed (the client gave up or was cancelled).
 */
export interface BlackHole {
  readonly port: number;
  readonly connections: ReadonlyArray<{ readonly openedAt: number; closedAt: number | undefined }>;
  close(): Promise<void>;
}

export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  const connections: Array<{ openedAt: number; closedAt: number | undefined }> = [];
  const server: Server = createServer((socket) => {
    const connection = { openedAt: Date.now(), closedAt: undefined as number | undefined };
    connections.push(connection);
    sockets.add(socket);
    socket.resume(); // reads and drops what arrives, so that the client's close is seen
    socket.on('error', () => undefined);
    socket.on('close', () => {
      connection.closedAt = Date.now();
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  registerCleanup(`black hole :${port}`, close);
  return { port, connections, close };
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** It was still running at the deadline and was killed. */
  readonly killed: boolean;
}

/** `node dist/cli.js ARGS`, killed if it runs past deadlineMs. */
export async function runCli(args: readonly string[], deadlineMs: number): Promise<CliRun> {
  ensureBuilt();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/cli.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HAIRPIN_DATAPLANE_PASSWORD: DATAPLANE_PASSWORD },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, deadlineMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  return { code, signal, stdout, stderr, killed };
}

/**
 * What a fresh controller would still change: a one-off dry run (`run --once --dry-run`) with
 * fresh caches, as the controller's identity. [] means the running controller has converged to
 * exactly the state a full sync computes.
 */
export async function pendingChanges(plane: ControlPlane, args: readonly string[] = ['--no-manage-haproxy']): Promise<string[]> {
  const run = await runCli(['run', '--once', '--dry-run', '--kubeconfig', plane.controllerKubeconfigPath, '--listen-address', 'off', ...args], 60_000);
  if (run.code !== 0) throw new Error(`the dry run exited ${run.code ?? run.signal}: ${run.stderr || run.stdout.slice(-2000)}`);
  const finished = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.msg === 'sync finished');
  if (finished.length === 0) throw new Error(`the dry run finished no sync:\n${run.stdout.slice(-2000)}`);
  return finished.filter((line) => line.outcome !== 'unchanged').map((line) => `${String(line.key)}: ${String(line.outcome)}`);
}

/** A kubeconfig like the controller's, pointing at another apiserver address. */
export function kubeconfigFor(plane: ControlPlane, server: string, path: string): string {
  const original = readFileSync(plane.controllerKubeconfigPath, 'utf8');
  writeFileSync(path, original.replace(/server: \S+/, `server: ${server}`));
  return path;
}

/** Kills a process with SIGKILL and waits for it to be gone. */
export async function killHard(process: { killNow(): void; waitForExit(): Promise<unknown> }): Promise<void> {
  process.killNow();
  await process.waitForExit();
}
