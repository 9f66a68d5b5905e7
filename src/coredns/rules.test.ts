import { describe, expect, it } from '@jest/globals';
import { MAX_NAMES_PER_RULE, rewriteRules, type Route } from './rules.js';

const T = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
const OTHER = 'other-proxy.hairpin-proxy.svc.cluster.local';
const routes = (hosts: readonly string[], target = T): Route[] => hosts.map((host) => ({ host, target }));

describe('rewriteRules', () => {
  it.each<[string, Route[], string[]]>([
    ['no routes, no rules', [], []],
    ['one host: an exact rule', routes(['foo.example.com']), [`rewrite stop name exact foo.example.com ${T}. answer auto`]],
    [
      'several hosts under one parent: one regex alternation',
      routes(['c.example.com', 'a.example.com', 'b-2.example.com']),
      [String.raw`rewrite stop name regex ^(a|b-2|c)\.example\.com\.$ ${T}. answer auto`],
    ],
    ['a wildcard: exactly one more label', routes(['*.example.com']), [String.raw`rewrite stop name regex ^[^.]+\.example\.com\.$ ${T}. answer auto`]],
    [
      'exact hosts a wildcard covers with the same target are folded into it',
      routes(['a.example.com', '*.example.com', 'b.example.com']),
      [String.raw`rewrite stop name regex ^[^.]+\.example\.com\.$ ${T}. answer auto`],
    ],
    [
      'the apex and deeper names are not covered by the wildcard',
      routes(['example.com', '*.example.com', 'a.b.example.com']),
      [
        String.raw`rewrite stop name exact a.b.example.com ${T}. answer auto`,
        String.raw`rewrite stop name exact example.com ${T}. answer auto`,
        String.raw`rewrite stop name regex ^[^.]+\.example\.com\.$ ${T}. answer auto`,
      ],
    ],
    [
      'an exact host routed elsewhere comes before the wildcard, so that it wins',
      [...routes(['*.example.com']), ...routes(['a.example.com'], OTHER)],
      [`rewrite stop name exact a.example.com ${OTHER}. answer auto`, String.raw`rewrite stop name regex ^[^.]+\.example\.com\.$ ${T}. answer auto`],
    ],
    [
      'groups are per target as well as per parent',
      [...routes(['a.example.com', 'b.example.com']), ...routes(['c.example.com'], OTHER)],
      [String.raw`rewrite stop name regex ^(a|b)\.example\.com\.$ ${T}. answer auto`, `rewrite stop name exact c.example.com ${OTHER}. answer auto`],
    ],
    [
      'a Gateway API wildcard: one or more labels, after the Ingress ones',
      [{ host: '*.example.com', target: T, wildcard: 'suffix' }, ...routes(['*.example.org'])],
      [String.raw`rewrite stop name regex ^[^.]+\.example\.org\.$ ${T}. answer auto`, String.raw`rewrite stop name regex ^.+\.example\.com\.$ ${T}. answer auto`],
    ],
    [
      'suffix wildcards: the deepest parent first, so the most specific one matches',
      [
        { host: '*.example.com', target: T, wildcard: 'suffix' },
        { host: '*.shop.example.com', target: OTHER, wildcard: 'suffix' },
      ],
      [String.raw`rewrite stop name regex ^.+\.shop\.example\.com\.$ ${OTHER}. answer auto`, String.raw`rewrite stop name regex ^.+\.example\.com\.$ ${T}. answer auto`],
    ],
    ['duplicates are removed', routes(['a.example.com', 'a.example.com']), [`rewrite stop name exact a.example.com ${T}. answer auto`]],
    ['a single-label host is matched as a name in the root zone', routes(['intranet', 'wiki']), [String.raw`rewrite stop name regex ^(intranet|wiki)\.$ ${T}. answer auto`]],
  ])('%s', (_name, input, rules) => {
    expect(rewriteRules(input)).toEqual(rules);
  });

  it('sorts: the output does not depend on the order of the routes', () => {
    const hosts = ['z.a.io', 'b.example.com', '*.x.org', 'a.example.com', 'm.a.io', 'q.x.org'];
    expect(rewriteRules(routes([...hosts].reverse()))).toEqual(rewriteRules(routes(hosts)));
    expect(rewriteRules(routes(hosts))).toEqual([
      String.raw`rewrite stop name regex ^(m|z)\.a\.io\.$ ${T}. answer auto`,
      String.raw`rewrite stop name regex ^(a|b)\.example\.com\.$ ${T}. answer auto`,
      String.raw`rewrite stop name regex ^[^.]+\.x\.org\.$ ${T}. answer auto`,
    ]);
  });

  it(`caps an alternation at ${MAX_NAMES_PER_RULE} names`, () => {
    const labels = Array.from({ length: 2 * MAX_NAMES_PER_RULE + 1 }, (_, i) => `h${String(i).padStart(3, '0')}`);
    const rules = rewriteRules(routes(labels.map((label) => `${label}.example.com`)));
    expect(rules).toHaveLength(3);
    expect(rules[0]).toBe(String.raw`rewrite stop name regex ^(${labels.slice(0, 100).join('|')})\.example\.com\.$ ${T}. answer auto`);
    expect(rules[1]).toBe(String.raw`rewrite stop name regex ^(${labels.slice(100, 200).join('|')})\.example\.com\.$ ${T}. answer auto`);
    expect(rules[2]).toBe(`rewrite stop name exact h200.example.com ${T}. answer auto`);
  });

  it("keeps the longest possible pattern under CoreDNS's 10,000-character regex limit", () => {
    // 63 + 1 + 185 = 249 characters: names are at most 253.
    const parent = Array.from({ length: 3 }, () => 'p'.repeat(61)).join('.');
    const labels = Array.from({ length: MAX_NAMES_PER_RULE }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(60)}`);
    const [rule] = rewriteRules(routes(labels.map((label) => `${label}.${parent}`)));
    const pattern = rule?.split(' ')[4] ?? '';
    expect(pattern.length).toBeGreaterThan(6_000);
    expect(pattern.length).toBeLessThan(10_000);
  });

  it.each([
    'A.example.com',
    'a b.example.com',
    'a{b}.example.com',
    'a#b.example.com',
    'a"b.example.com',
    'a\nb.example.com',
    'a_b.example.com',
    'a/b.example.com',
    '*',
    'a.*.example.com',
    '**.example.com',
    'a*.example.com',
    'a..example.com',
    '.a.example.com',
    'a.example.com.',
    '',
    `${'a'.repeat(64)}.example.com`,
    `${'a.'.repeat(127)}com`,
  ])('throws on an unvalidated host %j rather than write it', (host) => {
    expect(() => rewriteRules(routes([host]))).toThrow(/invalid host/);
  });

  it.each(['', 'svc.cluster.local.', 'Proxy.svc', '*.svc.cluster.local', 'a b.svc', 'a}.svc', 'a#.svc', '"a".svc'])(
    'throws on an unvalidated target %j rather than write it',
    (target) => {
      expect(() => rewriteRules(routes(['a.example.com'], target))).toThrow(/invalid target/);
    },
  );

  it('throws when one host is routed to two targets: the caller must choose', () => {
    expect(() => rewriteRules([...routes(['a.example.com']), ...routes(['a.example.com'], OTHER)])).toThrow(/routed to both/);
  });
});
