import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { importsOverrides, renderOverride } from './custom.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}.Corefile`, import.meta.url), 'utf8');

describe('importsOverrides', () => {
  it.each([
    ['k3s: imports *.override inside the root block', fixture('k3s'), true],
    ['AKS: imports its custom *.override files', fixture('aks'), true],
    ...['kubeadm', 'eks', 'rke2', 'node-local-dns', 'stub-zones'].map((name) => [`${name}: no override import`, fixture(name), false] as [string, string, boolean]),
    ['AKS-style: dns://.:53 with an override import', 'dns://.:53 {\n    import custom/*.override\n    forward . /etc/resolv.conf\n}\n', true],
    ['kubeadm: no import', '.:53 {\n    errors\n    forward . /etc/resolv.conf\n}\n', false],
    ['only the top-level *.server import', '.:53 {\n    errors\n}\nimport /etc/coredns/custom/*.server\n', false],
    ['a commented-out import', '.:53 {\n    # import /etc/coredns/custom/*.override\n}\n', false],
    ['an override import in a stub zone only', 'example.org:53 {\n    import /etc/coredns/custom/*.override\n}\n.:53 {\n    errors\n}\n', false],
    ['an import of something else', '.:53 {\n    import /etc/coredns/custom/*.conf\n}\n', false],
  ])('%s: %s', (_name, corefile, expected) => {
    expect(importsOverrides(corefile)).toBe(expected);
  });
});

describe('renderOverride', () => {
  it('is the rewrite rules under a header, or nothing at all without routes', () => {
    expect(renderOverride([{ host: 'shop.example.com', target: 't.ns.svc.cluster.local' }])).toBe(
      '# hairpin-proxy: managed by hairpin-proxy, edits here are overwritten\nrewrite stop name exact shop.example.com t.ns.svc.cluster.local. answer auto\n',
    );
    expect(renderOverride([])).toBeUndefined();
  });
});
