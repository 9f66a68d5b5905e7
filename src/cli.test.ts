import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli-main.js';
import type { CommandIO } from './commands/io.js';

const target = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
const corefile = '.:53 {\n    errors\n    forward . /etc/resolv.conf\n}\n';
const examples = new URL('../examples/', import.meta.url);

async function run(argv: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stdin: async () => stdin };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** Writes each named text to a fresh temp dir and returns the paths by the same names. */
function files<Name extends string>(contents: Record<Name, string>): Record<Name, string> {
  const dir = mkdtempSync(join(tmpdir(), 'hairpin-cli-'));
  const paths = {} as Record<Name, string>;
  for (const name of Object.keys(contents) as Name[]) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], contents[name]);
  }
  return paths;
}

describe('hairpin-proxy render-corefile', () => {
  it('prints the Corefile with rules for the hosts', async () => {
    const f = files({ Corefile: corefile, hosts: 'shop.example.com\nWWW.example.com\n\n' });
    const { code, stdout, stderr } = await run(['render-corefile', '--corefile', f.Corefile, '--hosts', f.hosts, '--target', target]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('# BEGIN hairpin-proxy');
    expect(stdout).toContain('^(?:shop|www)\\.example\\.com\\.$');
    expect(stdout.replace(/ {4}# BEGIN[\s\S]*# END hairpin-proxy\n/, '')).toBe(corefile);
  });

  it('reports invalid hosts on stderr, one per line, and leaves them out', async () => {
    const f = files({ Corefile: corefile, hosts: 'ok.example.com\nbad host.example.com\nevil.example.com}\n' });
    const { code, stdout, stderr } = await run(['render-corefile', '--corefile', f.Corefile, '--hosts', f.hosts, '--target', target]);
    expect(code).toBe(0);
    expect(stderr.trim().split('\n')).toEqual([expect.stringContaining('"bad host.example.com"'), expect.stringContaining('"evil.example.com}"')]);
    expect(stdout).toContain('ok.example.com');
    expect(stdout).not.toContain('evil');
  });

  it('removes everything with an empty hosts file', async () => {
    const rendered = await run(['render-corefile', '--corefile', files({ c: corefile }).c, '--hosts', files({ h: 'a.example.com\n' }).h, '--target', target]);
    const f = files({ Corefile: rendered.stdout, hosts: '' });
    const { stdout } = await run(['render-corefile', '--corefile', f.Corefile, '--hosts', f.hosts, '--target', target]);
    expect(stdout).toBe(corefile);
  });

  it('refuses a malformed Corefile: non-zero exit, a message on stderr, nothing on stdout', async () => {
    const f = files({ Corefile: '.:53 {\n    errors\n', hosts: 'a.example.com\n' });
    const { code, stdout, stderr } = await run(['render-corefile', '--corefile', f.Corefile, '--hosts', f.hosts, '--target', target]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/Corefile/);
  });

  it('needs all three files', async () => {
    const { code, stderr } = await run(['render-corefile', '--corefile', 'x']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--hosts/);
  });
});

describe('hairpin-proxy plan', () => {
  it('prints routes with their sources and skipped hosts as JSON', async () => {
    const { code, stdout } = await run(['plan', '-f', new URL('ingresses.yaml', examples).pathname, '--ingress-class', 'nginx', '--output', 'json']);
    expect(code).toBe(0);
    const upstream = { class: 'nginx', upstream: 'ingress-nginx/ingress-nginx-controller', proxy: 'v1', target };
    expect(JSON.parse(stdout)).toMatchObject({
      routes: [
        { host: '*.apps.example.com', sources: ['ingress/platform/apps'], ...upstream, wildcard: 'one-label' },
        { host: 'grafana.example.com', sources: ['ingress/platform/apps'], ...upstream },
        { host: 'shop.example.com', sources: ['ingress/platform/apps', 'ingress/shop/shop'], ...upstream },
        { host: 'www.shop.example.com', sources: ['ingress/shop/shop'], ...upstream },
      ],
      skipped: [{ host: 'bad_host.example.com', reason: expect.stringMatching(/RFC 1123/), source: 'ingress/shop/typo' }],
    });
  });

  it('reads multi-document YAML from stdin and honours the target flags', async () => {
    const yaml = readFileSync(new URL('ingresses.yaml', examples), 'utf8');
    const documents = `---\n${JSON.stringify({ kind: 'Ingress', metadata: { name: 'x', namespace: 'y' }, spec: { rules: [{ host: 'x.example.com' }] } })}\n---\n${yaml}`;
    const { stdout } = await run(['plan', '-f', '-', '--target-namespace', 'edge', '--cluster-domain', 'k8s.internal'], documents);
    const plan = JSON.parse(stdout) as { routes: Array<{ host: string; target: string }> };
    expect(plan.routes.map((r) => r.host)).toContain('x.example.com');
    expect(plan.routes.map((r) => r.host)).toContain('traefik-only.example.com');
    expect(new Set(plan.routes.map((r) => r.target))).toEqual(new Set(['hairpin-proxy-haproxy.edge.svc.k8s.internal']));
  });

  it('names the routes that would not fit in the CoreDNS ConfigMap of the input, newest claims first', async () => {
    const corefile = '.:53 {\n    forward . /etc/resolv.conf\n}\n';
    const ingressOf = (name: string, created: string, host: string) => ({ kind: 'Ingress', metadata: { name, namespace: 'shop', creationTimestamp: created }, spec: { rules: [{ host }] } });
    const documents = [
      { kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: corefile, padding: 'x'.repeat(1024 * 1024 - corefile.length - 230) } },
      ingressOf('newer', '2026-12-01T00:00:00Z', 'newer.example.org'),
      ingressOf('older', '2026-01-01T00:00:00Z', 'older.example.com'),
    ].map((document) => `---\n${JSON.stringify(document)}\n`);
    const json = JSON.parse((await run(['plan', '-f', '-'], documents.join(''))).stdout) as { routes: Array<{ host: string }>; dropped: string[] };
    expect(json.routes.map((route) => route.host)).toEqual(['newer.example.org', 'older.example.com']);
    expect(json.dropped).toEqual(['newer.example.org']);
    expect((await run(['plan', '-f', '-', '--output', 'table'], documents.join(''))).stdout).toContain('dropped "newer.example.org": does not fit in the CoreDNS ConfigMap');
    expect((JSON.parse((await run(['plan', '-f', '-'], documents.slice(1).join(''))).stdout) as { dropped: string[] }).dropped).toEqual([]);
  });

  it('prints a readable table', async () => {
    const { stdout } = await run(['plan', '-f', new URL('ingresses.yaml', examples).pathname, '--output', 'table']);
    expect(stdout.split('\n')[0]).toMatch(/^HOST\s+UPSTREAM\s+PROXY\s+TARGET\s+SOURCES$/);
    expect(stdout).toContain('skipped "bad_host.example.com" from ingress/shop/typo');
  });

  it('plans Ingresses and Gateway API routes for two upstreams with --target, each with its PROXY version', async () => {
    const file = new URL('two-upstreams.yaml', examples).pathname;
    const { code, stdout } = await run(['plan', '-f', file, '--target', 'nginx=ingress-nginx/ingress-nginx-controller', '--target', 'eg=envoy-gateway-system/envoy-public:v2']);
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as { routes: Array<Record<string, unknown>>; skipped: Array<Record<string, unknown>> };
    expect(plan.routes.map((r) => [r.host, r.class, r.upstream, r.proxy, r.sources])).toEqual([
      ['*.example.com', 'eg', 'envoy-gateway-system/envoy-public', 'v2', ['httproute/blog/blog']],
      ['docs.example.com', 'eg', 'envoy-gateway-system/envoy-public', 'v2', ['httproute/docs/docs']],
      ['shop.example.com', 'nginx', 'ingress-nginx/ingress-nginx-controller', 'v1', ['ingress/shop/shop']],
    ]);
    expect(new Set(plan.routes.map((r) => r.target)).size).toBe(2);
    expect(plan.skipped.map((s) => [s.host, s.source, s.kind])).toEqual([
      ['api.example.com', 'httproute/docs/docs', 'conflict'],
      ['api.example.com', 'ingress/shop/shop', 'conflict'],
      ['db.example.com', 'tlsroute/data/db', 'opted-out'],
    ]);
  });

  it('takes run\'s flags: a bad --target exits 2 naming the flag', async () => {
    const { code, stderr } = await run(['plan', '-f', '-', '--target', 'nginx=no-service'], '');
    expect(code).toBe(2);
    expect(stderr).toMatch(/--target/);
  });

  it('refuses an unknown output format and malformed YAML', async () => {
    expect((await run(['plan', '-f', '-', '--output', 'xml'], '')).code).toBe(2);
    expect((await run(['plan', '-f', '-'], 'a: [unclosed')).code).toBe(2);
  });
});

describe('hairpin-proxy', () => {
  it('prints usage with every flag and its environment variable', async () => {
    const { code, stdout } = await run(['help']);
    expect(code).toBe(0);
    expect(stdout).toContain('HAIRPIN_COREDNS_CONFIGMAP');
  });

  it('exits 2 naming the flag on a bad value, before touching any cluster', async () => {
    const { code, stderr } = await run(['run', '--resync', 'often']);
    expect(code).toBe(2);
    expect(stderr).toContain('--resync');
  });

  it('exits 2 on an unknown command', async () => {
    expect((await run(['frobnicate'])).code).toBe(2);
  });
});

describe('hairpin-proxy --version', () => {
  it('prints the package version', async () => {
    const { readFileSync } = await import('node:fs');
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const argv of [['--version'], ['version']]) {
      const { code, stdout } = await run(argv);
      expect(code).toBe(0);
      expect(stdout).toBe(`hairpin-proxy ${version}\n`);
    }
  });
});
