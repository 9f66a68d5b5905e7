import { open } from 'node:fs/promises';
import { HostsFileError } from './block.js';

export type WriteResult =
  | { readonly changed: false }
  /** `bytes` bytes written from byte `offset`, then the file truncated to `length` bytes. */
  | { readonly changed: true; readonly offset: number; readonly bytes: number; readonly length: number };

/** How many times a file changed under us between our read and our write is read again. */
const ATTEMPTS = 5;

/**
 * Rewrites the file at `path` IN PLACE to `render(current)`: same inode, never a rename. A node's
 * /etc/hosts is often a bind mount (a hostPath in our DaemonSet's pod; the file kubelet mounts into
 * containers); a rename would put a new inode at the path on one side and leave every mount of
 * the old one stale.
 *
 * The file is opened r+ and read; if the new text equals it, nothing is written (not even the
 * mtime changes). Otherwise the bytes from the first one that differs to the end are written in one
 * positioned write, the file is truncated to the new length, and fsync'd. With renderHostsFile the
 * first difference is never before the block's offset, since the lines before the block do not
 * change.
 *
 * What a concurrent reader (the resolver in kubelet, containerd, any process on the node) sees: the
 * bytes before that offset are never written, so every read sees the user's lines, unchanged and
 * complete, at all times. What comes after them is not atomic: a read during the write may see
 * the block partly old and partly new, a line cut short, or, when the file shrinks, stale bytes
 * after the new END line until the truncate. So for an instant a host may be missing (it resolves
 * through DNS, as without us), mapped to the old address, or a name cut short may appear. That is
 * the price of keeping the inode; the rename that would make it atomic would detach every bind
 * mount. The block is small (one line per address and host), usually one page, written at once.
 *
 * Another writer editing the file in place between our read and our write would lose its edit.
 * The file's size and modification time are checked again just before the write, and the file
 * is read again when they changed: this narrows that window to the write itself but cannot close
 * it (there is no lock every editor of /etc/hosts takes). Writers that rename are unaffected: we
 * then wrote the detached old inode, and the next call reads the new one.
 *
 * Throws HostsFileError when the file is not UTF-8 text (decoding would replace bytes of the
 * user's lines) or keeps changing under us, and whatever `render` throws; then nothing is written.
 */
export async function writeHostsFile(path: string, render: (current: string) => string): Promise<WriteResult> {
  const handle = await open(path, 'r+');
  try {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      const before = await handle.stat({ bigint: true });
      const old = await readAll(handle, Number(before.size));
      const current = old.toString('utf8');
      if (!Buffer.from(current, 'utf8').equals(old)) throw new HostsFileError('is not valid UTF-8 text: it is not rewritten, so that no byte of it is lost');
      const next = render(current);
      if (next === current) return { changed: false };

      const after = await handle.stat({ bigint: true });
      if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || after.ctimeNs !== before.ctimeNs) continue;

      const wanted = Buffer.from(next, 'utf8');
      const offset = firstDifference(old, wanted);
      const tail = wanted.subarray(offset);
      let written = 0;
      // One write call; the loop only finishes a short write, which regular files do not make
      // short of an error such as a full disk.
      while (written < tail.length) {
        const { bytesWritten } = await handle.write(tail, written, tail.length - written, offset + written);
        written += bytesWritten;
      }
      await handle.truncate(wanted.length);
      await handle.sync();
      return { changed: true, offset, bytes: tail.length, length: wanted.length };
    }
    throw new HostsFileError(`changed under us ${ATTEMPTS} times between reading and writing it: not rewritten`);
  } finally {
    await handle.close();
  }
}

/** The whole file from byte 0 (the size is a hint: the file may have grown or shrunk since). */
async function readAll(handle: Awaited<ReturnType<typeof open>>, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let position = 0;
  for (;;) {
    const chunk = Buffer.alloc(Math.max(size - position, 0) + 4096);
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) return Buffer.concat(chunks);
    chunks.push(chunk.subarray(0, bytesRead));
    position += bytesRead;
  }
}

function firstDifference(a: Buffer, b: Buffer): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    if (a[i] !== b[i]) return i;
  }
  return length;
}
