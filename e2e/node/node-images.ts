/**
 * The images the node scenario runs, each from this machine's own binaries (images.ts):
 *   busybox     the sandbox ("pause") image, and the client Pod
 *   coredns     the CoreDNS hack/tools built
 *   nginx       Debian's nginx: the "ingress-nginx" Deployment
 *   haproxy     Debian's HAProxy 2.6 and the Data Plane API where it can be had, at the paths
 *               deploy/base/haproxy.yaml uses for haproxytech/haproxy-debian
 *   controller  this repository's build (dist/, production node_modules) on the pinned Node
 */
import { execFile } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt } from '../harness/build.js';
import { REPO_ROOT, toolPath } from '../harness/index.js';
import { buildImage, type BuiltImage, type ImageFile } from './images.js';

const exec = promisify(execFile);

/** Users of every image, root and the restricted profile's non-root user. */
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:\n';
const SHELL_APPLETS = ['sh', 'sleep', 'cat', 'cp', 'chmod', 'awk', 'kill', 'echo', 'ls', 'mkdir', 'rm', 'nc', 'nslookup', 'wget', 'env', 'true', 'test'];

export type NodeImageName = 'busybox' | 'coredns' | 'nginx' | 'haproxy' | 'controller';

/** Writes /etc/passwd and /etc/group into a scratch dir, for images that look users up. */
function etcFiles(scratch: string): ImageFile[] {
  const dir = join(scratch, 'etc-files');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'passwd'), PASSWD);
  writeFileSync(join(dir, 'group'), GROUP);
  return [
    { from: join(dir, 'passwd'), to: '/etc/passwd' },
    { from: join(dir, 'group'), to: '/etc/group' },
  ];
}

export async function buildNodeImage(name: NodeImageName, scratch: string, options: { dataplaneapi?: string } = {}): Promise<BuiltImage> {
  const etc = etcFiles(scratch);
  switch (name) {
    case 'busybox':
      return buildImage({ name, files: etc, busybox: SHELL_APPLETS, dirs: ['/tmp'], entrypoint: ['/bin/sleep', '2147483647'] }, scratch);
    case 'coredns':
      return buildImage(
        { name, files: [...etc, { from: await toolPath('coredns'), to: '/coredns' }], binaries: ['/coredns'], entrypoint: ['/coredns'] },
        scratch,
      );
    case 'nginx':
      return buildImage(
        {
          name,
          files: [...etc, { from: await toolPath('nginx'), to: '/usr/sbin/nginx' }],
          binaries: ['/usr/sbin/nginx'],
          busybox: SHELL_APPLETS,
          dirs: ['/tmp', '/var/log/nginx', '/var/lib/nginx', '/run'],
          entrypoint: ['/usr/sbin/nginx', '-g', 'daemon off;'],
        },
        scratch,
      );
    case 'haproxy': {
      const files = [
        ...etc,
        { from: await toolPath('haproxy'), to: '/usr/local/sbin/haproxy' },
        { from: await toolPath('socat'), to: '/usr/bin/socat' },
        ...(options.dataplaneapi ? [{ from: options.dataplaneapi, to: '/usr/local/bin/dataplaneapi' }] : []),
      ];
      return buildImage(
        {
          name,
          files,
          binaries: ['/usr/local/sbin/haproxy', '/usr/bin/socat'],
          busybox: SHELL_APPLETS,
          dirs: ['/tmp', '/run'],
          entrypoint: ['/usr/local/sbin/haproxy'],
        },
        scratch,
      );
    }
    case 'controller': {
      ensureBuilt();
      const node = realpathSync(join(REPO_ROOT, 'node_modules', '.bin', 'node'));
      return buildImage(
        {
          name,
          files: [
            ...etc,
            { from: node, to: '/usr/local/bin/node' },
            { from: join(REPO_ROOT, 'dist'), to: '/app/dist' },
            { from: join(REPO_ROOT, 'package.json'), to: '/app/package.json' },
            ...(await productionModules()).map((dir) => ({ from: dir, to: join('/app', relative(REPO_ROOT, dir)) })),
          ],
          binaries: ['/usr/local/bin/node'],
          dirs: ['/tmp'],
          workdir: '/app',
          env: { NODE_ENV: 'production' },
          user: '65532:65532',
          // As the Dockerfile: ENTRYPOINT ["node", "--max-old-space-size-percentage=50", "dist/cli.js"], CMD ["run"].
          entrypoint: ['/usr/local/bin/node', '--max-old-space-size-percentage=50', 'dist/cli.js'],
          cmd: ['run'],
        },
        scratch,
      );
    }
  }
}

/** The top-level package directories of the production dependencies (what `npm prune --omit=dev` keeps). */
async function productionModules(): Promise<string[]> {
  const { stdout } = await exec('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
  );
  const modules = join(REPO_ROOT, 'node_modules');
  const top = new Set<string>();
  for (const path of stdout.split('\n')) {
    if (!path.startsWith(`${modules}/`)) continue;
    const parts = relative(modules, path).split('/');
    const depth = parts[0]?.startsWith('@') ? 2 : 1;
    top.add(join(modules, ...parts.slice(0, depth)));
  }
  return [...top].sort().filter((dir) => !dirname(dir).endsWith('/.bin'));
}
