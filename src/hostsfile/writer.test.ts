import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { blockOffset, HostsFileError, renderHostsFile, type HostsEntry } from './block.js';
import { writeHostsFile } from './writer.js';

// Non-ASCII before the block: byte offsets and character offsets differ.
const USER = '127.0.0.1 localhost\n::1 localhost ip6-localhost\n# Knoten für Ümlaut 🚀\n10.0.0.5 node-1\n';

function entriesFor(i: number): HostsEntry[] {
  // Varying counts, so the block grows and shrinks (truncate) as well as changing in place.
  return Array.from({ length: i % 7 }, (_, j) => ({ host: `app-${(i + j) % 11}.example.com`, addresses: [`10.96.${i % 250}.${j}`, `fd00::${i.toString(16)}:${j}`] }));
}

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hairpin-hosts-'));
  path = join(dir, 'hosts');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('writeHostsFile', () => {
  it('writes in place: the inode is kept, across growing, shrinking and removing the block', async () => {
    writeFileSync(path, USER);
    const inode = statSync(path).ino;
    for (const entries of [entriesFor(6), entriesFor(1), entriesFor(5), []]) {
      const result = await writeHostsFile(path, (current) => renderHostsFile(current, entries));
      expect(result.changed).toBe(true);
      expect(readFileSync(path, 'utf8')).toBe(renderHostsFile(USER, entries));
      expect(statSync(path).ino).toBe(inode);
    }
    expect(readFileSync(path, 'utf8')).toBe(USER);
  });

  it('writes nothing when nothing changes: the mtime stays', async () => {
    writeFileSync(path, renderHostsFile(USER, entriesFor(3)));
    const before = statSync(path, { bigint: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await writeHostsFile(path, (current) => renderHostsFile(current, entriesFor(3)))).toEqual({ changed: false });
    const after = statSync(path, { bigint: true });
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(after.ctimeNs).toBe(before.ctimeNs);
  });

  it('writes only from the first differing byte, never before the block, in bytes', async () => {
    writeFileSync(path, USER);
    let previous = USER;
    for (let i = 1; i <= 30; i += 1) {
      const result = await writeHostsFile(path, (current) => renderHostsFile(current, entriesFor(i)));
      const now = readFileSync(path);
      const blockBytes = Buffer.byteLength(previous.slice(0, blockOffset(previous)));
      if (result.changed) {
        expect(result.offset).toBeGreaterThanOrEqual(blockBytes);
        expect(now.subarray(0, result.offset).equals(Buffer.from(previous).subarray(0, result.offset))).toBe(true);
        expect(result.length).toBe(now.length);
        expect(result.bytes).toBe(now.length - result.offset);
      }
      expect(now.subarray(0, Buffer.byteLength(USER)).toString('utf8')).toBe(USER);
      previous = now.toString('utf8');
    }
  });

  it('leaves the file untouched when render throws, and when the file is not UTF-8', async () => {
    const broken = `${USER}# BEGIN hairpin-proxy\n`;
    writeFileSync(path, broken);
    await expect(writeHostsFile(path, (current) => renderHostsFile(current, entriesFor(2)))).rejects.toThrow(HostsFileError);
    expect(readFileSync(path, 'utf8')).toBe(broken);

    const latin1 = Buffer.concat([Buffer.from('# K'), Buffer.from([0xfc]), Buffer.from('ste\n')]);
    writeFileSync(path, latin1);
    await expect(writeHostsFile(path, (current) => renderHostsFile(current, entriesFor(2)))).rejects.toThrow(/not valid UTF-8/);
    expect(readFileSync(path).equals(latin1)).toBe(true);
  });

  it('fails without creating a file that does not exist', async () => {
    await expect(writeHostsFile(path, (current) => renderHostsFile(current, entriesFor(2)))).rejects.toThrow(/ENOENT/);
  });

  it('never shows a concurrent reader the user lines altered or missing, over 200 rewrites', async () => {
    writeFileSync(path, USER);
    const stop = new Int32Array(new SharedArrayBuffer(4));
    // A reader in another thread, reading the whole file as fast as it can, as a resolver would.
    const reader = new Worker(
      `
      const { workerData, parentPort } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      const { path, prefix, stop } = workerData;
      const expected = Buffer.from(prefix);
      let reads = 0, bad = 0, tails = new Set(), example;
      while (Atomics.load(stop, 0) === 0) {
        const bytes = readFileSync(path);
        reads += 1;
        if (!bytes.subarray(0, expected.length).equals(expected)) { bad += 1; example ??= bytes.toString('utf8'); }
        if (tails.size < 1000) tails.add(bytes.subarray(expected.length).toString('latin1'));
      }
      parentPort.postMessage({ reads, bad, tails: tails.size, example });
      `,
      { eval: true, workerData: { path, prefix: USER, stop } },
    );
    const report = new Promise<{ reads: number; bad: number; tails: number; example?: string }>((resolve, reject) => {
      reader.once('message', resolve);
      reader.once('error', reject);
    });
    try {
      for (let i = 1; i <= 200; i += 1) {
        await writeHostsFile(path, (current) => renderHostsFile(current, entriesFor(i)));
        // Give the reader a chance to run between writes as well as during them.
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      Atomics.store(stop, 0, 1);
    }
    const { reads, bad, tails, example } = await report;
    await reader.terminate();
    console.log(`concurrent reader: ${reads} reads during 200 rewrites, ${tails} different tails seen, ${bad} with the user lines altered`);
    expect(example).toBeUndefined();
    expect(bad).toBe(0);
    expect(reads).toBeGreaterThan(0);
    expect(readFileSync(path, 'utf8')).toBe(renderHostsFile(USER, entriesFor(200)));
  });
});

/** Whether this process may bind-mount a file: root, and a mount namespace that allows it. */
function bindMountSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = mkdtempSync(join(tmpdir(), 'hairpin-hosts-probe-'));
  try {
    writeFileSync(join(probe, 'a'), 'a');
    writeFileSync(join(probe, 'b'), 'b');
    execFileSync('mount', ['--bind', join(probe, 'a'), join(probe, 'b')], { stdio: 'pipe' });
    execFileSync('umount', [join(probe, 'b')], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount --bind failed: ${String((error as { stderr?: unknown }).stderr ?? error).trim()}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const skipReason = bindMountSkipReason();
if (skipReason !== undefined) console.log(`writeHostsFile bind-mount test skipped: ${skipReason}`);

describe('writeHostsFile through a bind mount', () => {
  (skipReason === undefined ? it : it.skip)(
    `the mount target sees every write${skipReason === undefined ? '' : ` (SKIPPED: ${skipReason})`}; a rename would have detached it`,
    async () => {
      const target = join(dir, 'hosts-in-a-pod');
      writeFileSync(path, USER);
      writeFileSync(target, '');
      execFileSync('mount', ['--bind', path, target], { stdio: 'pipe' });
      try {
        for (const i of [4, 1, 6, 0]) {
          await writeHostsFile(path, (current) => renderHostsFile(current, entriesFor(i)));
          expect(readFileSync(target, 'utf8')).toBe(renderHostsFile(USER, entriesFor(i)));
        }
        // And through the mount target, as the DaemonSet's pod writes its hostPath mount.
        await writeHostsFile(target, (current) => renderHostsFile(current, entriesFor(5)));
        expect(readFileSync(path, 'utf8')).toBe(renderHostsFile(USER, entriesFor(5)));

        // What we avoid: replacing the file by a rename leaves the mount on the old inode.
        writeFileSync(join(dir, 'hosts.new'), 'renamed\n');
        execFileSync('mv', [join(dir, 'hosts.new'), path]);
        expect(readFileSync(target, 'utf8')).toBe(renderHostsFile(USER, entriesFor(5)));
      } finally {
        execFileSync('umount', [target], { stdio: 'pipe' });
      }
    },
  );
});
