import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MAX_PATTERN_LENGTH, rewriteRules, SEGMENT_FROM, type Route } from './rules.js';

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
      [String.raw`rewrite stop name regex ^(?:a|b-2|c)\.example\.com\.$ ${T}. answer auto`],
    ],
    ['a wildcard: exactly one more label', routes(['*.example.com']), [String.raw`rewrite stop name regex ^[^.]+\.example\.com\.$ ${T}. answer auto`]],
    [
      'exact hosts a wildcard covers with the same target are folded into it',
      routes(['a.example.com', '*.example.com', 'b.example.com']),
      [String.raw`rewrite stop name regex ^[^.]+\.example\.com\.$ ${T}. answer auto`],
    ],
    [
      'the apex and deeper names are not covered by the wildcard: they get their own exact pattern, before it',
      routes(['example.com', '*.example.com', 'a.b.example.com']),
      [String.raw`rewrite stop name regex ^(?:a\.b\.)?example\.com\.$ ${T}. answer auto`, String.raw`rewrite stop name regex ^[^.]+\.example\.com\.$ ${T}. answer auto`],
    ],
    [
      'an exact host routed elsewhere comes before the wildcard, so that it wins',
      [...routes(['*.example.com']), ...routes(['a.example.com'], OTHER)],
      [`rewrite stop name exact a.example.com ${OTHER}. answer auto`, String.raw`rewrite stop name regex ^[^.]+\.example\.com\.$ ${T}. answer auto`],
    ],
    [
      'groups are per target as well as per parent',
      [...routes(['a.example.com', 'b.example.com']), ...routes(['c.example.com'], OTHER)],
      [String.raw`rewrite stop name regex ^(?:a|b)\.example\.com\.$ ${T}. answer auto`, `rewrite stop name exact c.example.com ${OTHER}. answer auto`],
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
    ['a single-label host is matched as a name in the root zone', routes(['intranet', 'wiki']), [String.raw`rewrite stop name regex ^(?:intranet|wiki)\.$ ${T}. answer auto`]],
  ])('%s', (_name, input, rules) => {
    expect(rewriteRules(input)).toEqual(rules);
  });

  it('sorts: the output does not depend on the order of the routes', () => {
    const hosts = ['z.a.io', 'b.example.com', '*.x.org', 'a.example.com', 'm.a.io', 'q.x.org'];
    expect(rewriteRules(routes([...hosts].reverse()))).toEqual(rewriteRules(routes(hosts)));
    expect(rewriteRules(routes(hosts))).toEqual([
      String.raw`rewrite stop name regex ^(?:(?:a|b)\.example\.com|(?:m|z)\.a\.io)\.$ ${T}. answer auto`,
      String.raw`rewrite stop name regex ^[^.]+\.x\.org\.$ ${T}. answer auto`,
    ]);
  });

  it.each<[string, string[], string]>([
    ['parents are written once: a trie over the sorted names', ['a.shop.example.com', 'b.blog.example.com', 'c.shop.example.com'], String.raw`^(?:(?:a|c)\.shop|b\.blog)\.example\.com\.$`],
    ['a common prefix is written once too', ['api-1.example.com', 'api-2.example.com', 'web.example.com'], String.raw`^(?:api-(?:1|2)|web)\.example\.com\.$`],
    ['a name that is the parent of another is an optional part', ['example.com', 'a.example.com'], String.raw`^(?:a\.)?example\.com\.$`],
    ['names of different depths and zones share one pattern', ['intranet', 'a.x.com', 'b.y.org'], String.raw`^(?:a\.x\.com|b\.y\.org|intranet)\.$`],
    ['one-label wildcards of one target share one pattern of their parents', ['*.example.com', '*.a.example.com', '*.example.org'], String.raw`^[^.]+\.(?:a\.example\.com|example\.(?:com|org))\.$`],
  ])('%s', (_name, hosts, pattern) => {
    expect(rewriteRules(routes(hosts))).toEqual([`rewrite stop name regex ${pattern} ${T}. answer auto`]);
  });

  it(`splits a target's names into contiguous sorted runs, each pattern at most ${MAX_PATTERN_LENGTH} characters`, () => {
    const hosts = Array.from({ length: 3_000 }, (_, i) => `svc-${i}.team-${i}.example${i % 7}.com`);
    const rules = rewriteRules(routes(hosts));
    const patterns = rules.map((rule) => rule.split(' ')[4] ?? '');
    expect(rules.length).toBeGreaterThan(1);
    for (const pattern of patterns) expect(pattern.length).toBeLessThanOrEqual(MAX_PATTERN_LENGTH);
    // Packed: every rule but the last is filled to within a few percent of the limit.
    for (const pattern of patterns.slice(0, -1)) expect(pattern.length).toBeGreaterThan(MAX_PATTERN_LENGTH * 0.9);
    // Contiguous: each run of the sorted names is matched by one rule, in order.
    const sorted = [...hosts].sort();
    const owners = sorted.map((host) => patterns.findIndex((pattern) => new RegExp(pattern).test(`${host}.`)));
    expect(owners).toEqual([...owners].sort((a, b) => a - b));
    expect(new Set(owners).size).toBe(rules.length);
  });

  it('a shorter limit gives more, shorter rules that match the same names', () => {
    const hosts = Array.from({ length: 500 }, (_, i) => `app-${i}.team-${i % 20}.example.com`);
    const short = rewriteRules(routes(hosts), { maxPatternLength: 1_000 });
    expect(short.length).toBeGreaterThan(rewriteRules(routes(hosts)).length);
    for (const rule of short) expect((rule.split(' ')[4] ?? '').length).toBeLessThanOrEqual(1_000);
  });

  it("keeps the longest names under CoreDNS's 10,000-character regex limit", () => {
    // 63 + 1 + 185 = 249 characters: names are at most 253.
    const parent = Array.from({ length: 3 }, () => 'p'.repeat(61)).join('.');
    const hosts = Array.from({ length: 400 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(60)}.${parent}`);
    for (const rule of rewriteRules(routes(hosts))) expect((rule.split(' ')[4] ?? '').length).toBeLessThanOrEqual(10_000);
  });

  describe('the patterns accept exactly the routed names (JS RegExp agrees with RE2 on this syntax)', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,4}[a-z0-9])?$/);
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
    const matchers = (rules: readonly string[]) =>
      rules.map((rule) => {
        const [, , , type = '', from = ''] = rule.split(' ');
        return type === 'exact' ? (fqdn: string) => fqdn === `${from}.` : (fqdn: string) => new RegExp(from).test(fqdn);
      });

    it('for generated sets and near-misses: one label more or less, a changed character, a suffix or prefix added', () => {
      fc.assert(
        fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 300 }), fc.integer({ min: 40, max: 2_000 }), (hosts, max) => {
          const tests = matchers(rewriteRules(routes(hosts), { maxPatternLength: max }));
          const routed = new Set(hosts);
          const nearMisses = hosts.flatMap((host) => [`x${host}`, `${host}x`, `x.${host}`, `${host}.x`, host.split('.').slice(1).join('.'), host.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')), host.replace('.', '')]);
          for (const candidate of [...hosts, ...nearMisses].filter((host) => host !== '')) {
            expect([candidate, tests.filter((test) => test(`${candidate}.`)).length]).toEqual([candidate, routed.has(candidate) ? 1 : 0]);
          }
        }),
        { numRuns: 150 },
      );
    });

    it('for one-label wildcards: exactly one more label than a parent', () => {
      fc.assert(
        fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 100 }), label, (parents, first) => {
          const tests = matchers(rewriteRules(routes(parents.map((parent) => `*.${parent}`))));
          for (const parent of parents) {
            expect(tests.some((test) => test(`${first}.${parent}.`))).toBe(true);
            const deeper = `${first}.${first}.${parent}`;
            const covered = parents.some((other) => deeper.endsWith(`.${other}`) && deeper.split('.').length === other.split('.').length + 1);
            expect(tests.some((test) => test(`${deeper}.`))).toBe(covered);
            expect(tests.some((test) => test(`${parent}.`))).toBe(parents.some((other) => parent.endsWith(`.${other}`) && parent.split('.').length === other.split('.').length + 1));
          }
        }),
        { numRuns: 100 },
      );
    });
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

  describe('many names (segments reused between renders)', () => {
    const TARGET_NAME = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
    const many = Array.from({ length: SEGMENT_FROM + 500 }, (_, i) => ({ host: `svc-${i}.team-${i % 50}.example.com`, target: TARGET_NAME }));
    const fresh = (set: readonly Route[]) => {
      // Two unrelated renders forget every segment kept from before.
      rewriteRules([]);
      rewriteRules([]);
      return rewriteRules(set);
    };

    it('renders the same rules whatever was rendered before', () => {
      fc.assert(
        fc.property(fc.array(fc.nat({ max: many.length - 1 }), { maxLength: 5 }), fc.array(fc.nat({ max: 9_999 }), { maxLength: 5 }), (removed, added) => {
          const next = [...many.filter((_, i) => !removed.includes(i)), ...added.map((n) => ({ host: `new-${n}.team-${n % 7}.example.org`, target: TARGET_NAME }))];
          rewriteRules(many);
          const afterHistory = rewriteRules(next);
          expect(afterHistory).toEqual(fresh(next));
        }),
        { numRuns: 15 },
      );
    });

    it('still routes exactly its names, within the pattern limit', () => {
      const rules = fresh(many);
      const patterns = rules.map((line) => / regex (\S+) /.exec(line)?.[1] ?? '').filter((pattern) => pattern !== '');
      expect(Math.max(...patterns.map((pattern) => pattern.length))).toBeLessThanOrEqual(MAX_PATTERN_LENGTH);
      const compiled = patterns.map((pattern) => new RegExp(pattern));
      for (const { host } of many.filter((_, i) => i % 97 === 0)) expect(compiled.some((pattern) => pattern.test(`${host}.`))).toBe(true);
      expect(compiled.some((pattern) => pattern.test('svc-1.team-2.example.com.'))).toBe(false);
    });
  });
});
