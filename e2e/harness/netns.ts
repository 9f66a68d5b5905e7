/**
 * Network namespaces and veth pairs for suites that need real network topology (a later issue:
 * HAProxy, nginx and clients on separate "nodes"). Names are unique per test process
 * (prefix hp-<pid>-) and everything created is deleted by cleanupAll().
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { registerCleanup } from './processes.js';
import { toolPath } from './tools.js';

const run = promisify(execFile);
let counter = 0;

async function ip(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run(await toolPath('ip'), [...args], { timeout: 10_000 });
    return stdout;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(stderr ?? message).trim()}`);
  }
}

/** A name unique to this process: hp-<pid>-<suffix><n>. */
function uniqueName(suffix: string): string {
  counter += 1;
  return `hp-${process.pid}-${suffix}${counter.toString(36)}`;
}

let probed: Promise<{ ok: boolean; reason: string }> | undefined;

/**
 * Whether this machine lets us create network namespaces (root and a working `ip netns add`).
 * Suites that need them call it in beforeAll and skip with the printed reason otherwise.
 */
export function canUseNetns(): Promise<{ ok: boolean; reason: string }> {
  probed ??= (async () => {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      return { ok: false, reason: 'network namespaces need root (run the suite as root, e.g. in CI with sudo)' };
    }
    const name = uniqueName('probe');
    try {
      await ip(['netns', 'add', name]);
      await ip(['netns', 'delete', name]);
      return { ok: true, reason: '' };
    } catch (error) {
      return { ok: false, reason: `\`ip netns add\` does not work here: ${(error as Error).message}` };
    }
  })();
  return probed;
}

export interface Netns {
  readonly name: string;
  /** Runs a command inside the namespace and returns its stdout. */
  exec(command: string, args: readonly string[]): Promise<string>;
  delete(): Promise<void>;
}

/** Creates a namespace with its loopback up. */
export async function createNetns(label = 'ns'): Promise<Netns> {
  const name = uniqueName(label.slice(0, 8));
  await ip(['netns', 'add', name]);
  let deleted = false;
  const remove = async () => {
    if (deleted) return;
    deleted = true;
    await ip(['netns', 'delete', name]).catch(() => undefined);
  };
  registerCleanup(`delete netns ${name}`, remove);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  return {
    name,
    async exec(command, args) {
      const { stdout } = await run(await toolPath('ip'), ['netns', 'exec', name, command, ...args], { timeout: 30_000 });
      return stdout;
    },
    delete: remove,
  };
}

export interface VethEnd {
  /** The interface name (at most 15 characters, a kernel limit). */
  readonly name: string;
  /** The namespace it lives in; undefined for the test's own (root) namespace. */
  readonly netns?: string;
  /** CIDR, e.g. 10.99.0.1/24. */
  readonly address?: string;
}

/**
 * A veth pair between two namespaces (or a namespace and the root namespace), addressed and up.
 * Deleting one end deletes both, which also happens when its namespace goes.
 */
export async function createVethPair(a: { netns?: Netns; address?: string }, b: { netns?: Netns; address?: string }): Promise<[VethEnd, VethEnd]> {
  counter += 1;
  // IFNAMSIZ is 16 including the NUL: "hp<pid base36><n>a" stays well under 15.
  const stem = `hp${process.pid.toString(36)}${counter.toString(36)}`.slice(0, 13);
  const ends: [VethEnd, VethEnd] = [
    { name: `${stem}a`, ...(a.netns ? { netns: a.netns.name } : {}), ...(a.address ? { address: a.address } : {}) },
    { name: `${stem}b`, ...(b.netns ? { netns: b.netns.name } : {}), ...(b.address ? { address: b.address } : {}) },
  ];
  await ip(['link', 'add', ends[0].name, 'type', 'veth', 'peer', 'name', ends[1].name]);
  registerCleanup(`delete veth ${ends[0].name}`, async () => {
    // Gone already when its namespace was deleted first; otherwise remove it from wherever it is.
    for (const end of ends) {
      await ip([...(end.netns ? ['-n', end.netns] : []), 'link', 'delete', end.name]).catch(() => undefined);
    }
  });
  for (const end of ends) {
    if (end.netns) await ip(['link', 'set', end.name, 'netns', end.netns]);
    const inNs = end.netns ? ['-n', end.netns] : [];
    if (end.address) await ip([...inNs, 'addr', 'add', end.address, 'dev', end.name]);
    await ip([...inNs, 'link', 'set', end.name, 'up']);
  }
  return ends;
}

/**
 * The resolv.conf that `ip netns exec NAME` bind-mounts over /etc/resolv.conf: a pod's resolver,
 * for curl and dig run in that namespace. Removed by cleanupAll(), with /etc/netns if it made it.
 */
export function writeNetnsResolvConf(netns: string, lines: readonly string[]): void {
  const parent = '/etc/netns';
  const dir = join(parent, netns);
  const createdParent = !existsSync(parent);
  mkdirSync(dir, { recursive: true });
  registerCleanup(`remove ${dir}`, () => {
    rmSync(dir, { recursive: true, force: true });
    if (createdParent && readdirSync(parent).length === 0) rmdirSync(parent);
  });
  writeFileSync(join(dir, 'resolv.conf'), [...lines, ''].join('\n'));
}
