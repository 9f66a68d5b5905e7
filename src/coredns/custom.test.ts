import { describe, expect, it } from '@jest/globals';
import { importsOverrides, renderOverride } from './custom.js';

const K3S = `.:53 {
    errors
    health
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    hosts /etc/coredns/NodeHosts {
      ttl 60
      reload 15s
      fallthrough
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
    import /etc/coredns/custom/*.override
}
import /etc/coredns/custom/*.server
`;

describe('importsOverrides', () => {
  it.each([
    ['k3s: imports *.override inside the root block', K3S, true],
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
