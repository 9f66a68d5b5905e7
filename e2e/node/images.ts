/**
 * Container images for the real node, built without a registry: buildah assembles each one from
 * files of this machine (a binary and the shared libraries `ldd` says it loads, config files,
 * busybox for a shell), pushes it to an OCI archive in the tools cache, and the node's containerd
 * imports that archive. An image is rebuilt only when its inputs change: the archive's name
 * carries a hash of every input file's content and of the image's settings.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, createReadStream, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, renameSync, statSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from '../harness/index.js';

const exec = promisify(execFile);

/** One file (or directory tree) of the host, placed at `to` inside the image. */
export interface ImageFile {
  readonly from: string;
  readonly to: string;
}

export interface ImageSpec {
  /** localhost/hairpin-node/<name>:<hash> in containerd. */
  readonly name: string;
  readonly files: readonly ImageFile[];
  /** Binaries inside the image (paths in it) whose shared libraries are copied in from the host. */
  readonly binaries?: readonly string[];
  /** busybox at /bin/busybox with these applets linked into /bin. */
  readonly busybox?: readonly string[];
  /** Empty directories to create. */
  readonly dirs?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workdir?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly user?: string;
}

export interface BuiltImage {
  /** The reference Pods use, e.g. localhost/hairpin-node/coredns:3f2a…. */
  readonly ref: string;
  readonly archive: string;
  readonly built: boolean;
}

const CACHE = process.env.HAIRPIN_TOOLS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hairpin-proxy');
const IMAGE_DIR = join(CACHE, 'images');

/** Builds the image unless an archive of the same inputs is cached; returns its reference. */
export async function buildImage(spec: ImageSpec, scratch: string): Promise<BuiltImage> {
  const busybox = spec.busybox ? await toolPath('busybox') : undefined;
  const files = [...spec.files, ...(busybox ? [{ from: busybox, to: '/bin/busybox' }] : [])];
  const hash = await inputHash(spec, files);
  const ref = `localhost/hairpin-node/${spec.name}:${hash}`;
  const archive = join(IMAGE_DIR, `${spec.name}-${hash}.oci.tar`);
  if (existsSync(archive)) return { ref, archive, built: false };

  const rootfs = join(scratch, `rootfs-${spec.name}`);
  mkdirSync(rootfs, { recursive: true });
  for (const file of files) copyInto(rootfs, file.from, file.to);
  for (const applet of spec.busybox ?? []) symlinkSync('busybox', join(rootfs, 'bin', applet));
  for (const dir of spec.dirs ?? []) mkdirSync(join(rootfs, dir), { recursive: true });
  for (const binary of spec.binaries ?? []) for (const library of await sharedLibraries(join(rootfs, binary))) copyInto(rootfs, library, library);

  const buildah = await buildahCommand(scratch);
  const container = (await buildah('from', 'scratch')).trim();
  try {
    await buildah('copy', container, `${rootfs}/`, '/');
    const config = [
      ...(spec.entrypoint ? ['--entrypoint', JSON.stringify(spec.entrypoint)] : []),
      ...(spec.cmd ? ['--cmd', JSON.stringify(spec.cmd)] : []),
      ...(spec.workdir ? ['--workingdir', spec.workdir] : []),
      ...(spec.user ? ['--user', spec.user] : []),
      ...Object.entries(spec.env ?? {}).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    ];
    if (config.length > 0) await buildah('config', ...config, container);
    await buildah('commit', '--rm', container, ref);
  } catch (error) {
    await buildah('rm', container).catch(() => undefined);
    throw error;
  }
  mkdirSync(IMAGE_DIR, { recursive: true });
  const partial = `${archive}.tmp.${process.pid}`;
  await buildah('push', ref, `oci-archive:${partial}:${ref}`);
  await buildah('rmi', ref);
  renameSync(partial, archive);
  return { ref, archive, built: true };
}

/** buildah with its own storage under the scratch dir (vfs: works wherever root does). */
async function buildahCommand(scratch: string): Promise<(...args: string[]) => Promise<string>> {
  const bin = await toolPath('buildah');
  const storage = ['--root', join(scratch, 'buildah', 'root'), '--runroot', join(scratch, 'buildah', 'run'), '--storage-driver', 'vfs'];
  return async (...args: string[]) => {
    try {
      return (await exec(bin, [...storage, ...args], { maxBuffer: 16 << 20, timeout: 10 * 60_000 })).stdout;
    } catch (error) {
      const { stderr, message } = error as { stderr?: string; message: string };
      throw new Error(`buildah ${args.join(' ')}: ${(stderr ?? message).trim().slice(-2000)}`);
    }
  };
}

/**
 * Copies a file or tree of the host into the rootfs, creating parent dirs. A file reached through a
 * symlink (a library such as /lib64/ld-linux-x86-64.so.2) is copied as the file itself, at the path
 * asked for: the image has no /lib -> /usr/lib of its own. Symlinks inside a tree stay symlinks.
 */
function copyInto(rootfs: string, from: string, to: string): void {
  const target = join(rootfs, to);
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target)) return;
  if (statSync(from).isDirectory()) cpSync(from, target, { recursive: true, verbatimSymlinks: true });
  else copyFileSync(realpathSync(from), target);
}

/** The shared libraries a binary loads, the dynamic loader included (absolute host paths). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await exec('ldd', [binary]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  if (/not a dynamic executable|statically linked/.test(stdout)) return [];
  return stdout
    .split('\n')
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
}

/** sha256 over the image's settings and every input file's path and content. */
async function inputHash(spec: ImageSpec, files: readonly ImageFile[]): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...spec, files: undefined }));
  for (const file of files) {
    hash.update(`\n${file.to}\n`);
    for (const path of walk(file.from)) {
      hash.update(`${path.slice(file.from.length)}\n`);
      if (lstatSync(path).isSymbolicLink()) hash.update(`-> ${readlinkSync(path)}\n`);
      else await new Promise<void>((resolve, reject) => createReadStream(path).on('data', (chunk) => hash.update(chunk)).on('end', resolve).on('error', reject));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

function walk(path: string): string[] {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => walk(join(path, name)));
}
