/**
 * The module map of docs/architecture.md, enforced: which top-level module of src/ may import
 * which, and which files are pure (no I/O, no clients). A new import that breaks the direction
 * fails here, so the map stays true.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Module → the modules it may import (itself always). Leaves first, wiring last. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  model: [],
  cancel: [],
  repeats: [],
  log: [],
  queue: [],
  config: [],
  metrics: [],
  health: [],
  sources: ['model'],
  plan: ['model', 'sources'],
  kube: ['model', 'cancel', 'repeats', 'log', 'queue'],
  coredns: ['model', 'kube', 'log'],
  haproxy: ['model', 'log'],
  hostsfile: [],
  reconcile: ['model', 'cancel', 'repeats', 'log', 'queue', 'metrics', 'sources', 'plan', 'kube', 'coredns', 'haproxy', 'hostsfile'],
  commands: ['model', 'log', 'config', 'sources', 'plan', 'kube', 'coredns', 'reconcile'],
  main: ['model', 'log', 'config', 'metrics', 'health', 'queue', 'kube', 'coredns', 'haproxy', 'plan', 'reconcile'],
  'hosts-main': ['model', 'log', 'config', 'queue', 'kube', 'plan', 'hostsfile', 'reconcile'],
  'cli-main': ['log', 'config', 'kube', 'commands', 'main', 'hosts-main'],
  cli: ['cli-main'],
};

/** Pure: planning and text, tested as functions. No Node I/O, no Kubernetes or HTTP clients. */
const PURE = [
  'model/objects.ts',
  'sources/hostname.ts',
  'sources/ingress.ts',
  'sources/gateway.ts',
  'plan/routes.ts',
  'plan/upstreams.ts',
  'coredns/custom.ts',
  'coredns/nodelocal.ts',
  'commands/doctor-checks.ts',
  'plan/dns-endpoints.ts',
  'hostsfile/block.ts',
  'plan/hosts.ts',
  'coredns/corefile.ts',
  'coredns/corefile-error.ts',
  'coredns/lexer.ts',
  'coredns/rules.ts',
  'coredns/server-blocks.ts',
  'coredns/diff.ts',
  'haproxy/desired.ts',
  'haproxy/slots.ts',
  'haproxy/plan.ts',
  'haproxy/replicas.ts',
  'haproxy/serving.ts',
  'haproxy/server-writes.ts',
  'reconcile/retry.ts',
  'reconcile/fitted-dns.ts',
  'coredns/fit.ts',
  'repeats.ts',
  'cancel.ts',
];
const IMPURE_PACKAGES = /^(node:(fs|net|http|https|child_process|dgram|dns|timers)|@kubernetes\/client-node|axios|p-queue|pino|prom-client)/;

function shippedFiles(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'testing' || name === 'generated' ? [] : shippedFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [relative(SRC, path)] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from '([^']+)'/gms)].map((match) => match[1] ?? '');
}

const moduleOf = (file: string) => file.split('/')[0]?.replace(/\.ts$/, '') ?? '';

describe('the module map', () => {
  const files = shippedFiles();

  it('names every top-level module of src/', () => {
    expect([...new Set(files.map(moduleOf))].sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it.each(files)('%s imports only what its module may', (file) => {
    const from = moduleOf(file);
    const crossings = importsOf(file)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => moduleOf(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts')))
      .filter((to) => to !== from && !ALLOWED[from]?.includes(to));
    expect(crossings).toEqual([]);
  });

  it.each(PURE)('%s is pure: no I/O, no clients', (file) => {
    expect(importsOf(file).filter((spec) => IMPURE_PACKAGES.test(spec))).toEqual([]);
  });
});
