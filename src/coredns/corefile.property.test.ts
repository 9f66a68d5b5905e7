import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { BEGIN_MARKER, END_MARKER, removeHairpinRules, renderCorefile, type Route } from './corefile.js';

const TARGETS = ['hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local', 'internal-proxy.ingress.svc.k8s.internal'] as const;
const PARENTS = ['example.com', 'shop.example.com', 'example.org', 'a-b.example.net', 'x.y.z.dev'] as const;

const FIXTURES = readdirSync(new URL('./fixtures/', import.meta.url)).map((file) => readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8'));
const CLEAN = FIXTURES.filter((corefile) => removeHairpinRules(corefile) === corefile);

// Short labels over few parents, so that generated sets collide, group and overlap wildcards.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,3}[a-z0-9])?$/);
const exactHost = fc.tuple(label, fc.constantFrom(...PARENTS)).map(([first, parent]) => `${first}.${parent}`);
const host = fc.oneof({ arbitrary: exactHost, weight: 4 }, { arbitrary: fc.constantFrom(...PARENTS).map((parent) => `*.${parent}`), weight: 1 });
const route = fc
  .record({ host, target: fc.constantFrom(...TARGETS), suffix: fc.boolean() })
  .map(({ host, target, suffix }): Route => (host.startsWith('*.') && suffix ? { host, target, wildcard: 'suffix' } : { host, target }));
const routes = fc.uniqueArray(route, { selector: (r) => r.host, maxLength: 200, size: 'medium' });
// Names a query may ask for: route-like names, apexes, and names one label too deep.
const probe = fc.oneof(exactHost, fc.constantFrom(...PARENTS), fc.tuple(label, exactHost).map(([first, rest]) => `${first}.${rest}`));

/** Lines of our marker blocks removed: independent of the code under test. */
function withoutOurBlocks(corefile: string): string {
  let inside = false;
  return corefile
    .split(/(?<=\n)/)
    .filter((line) => {
      if (line.trim() === BEGIN_MARKER) inside = true;
      const keep = !inside;
      if (line.trim() === END_MARKER) inside = false;
      return keep;
    })
    .join('');
}

type Matcher = { readonly matches: (name: string) => boolean; readonly target: string };

/** The rules of the first block, evaluated as CoreDNS does: on the lower-cased FQDN, first match wins. */
function resolverOf(corefile: string): (host: string) => string | undefined {
  const lines = corefile.split('\n').map((line) => line.trim());
  const rules = lines.includes(BEGIN_MARKER) ? lines.slice(lines.indexOf(BEGIN_MARKER) + 1, lines.indexOf(END_MARKER)) : [];
  const matchers: Matcher[] = rules.map((rule) => {
    const [rewrite, stop, name, type, from = '', target = '', answer, auto, ...rest] = rule.split(' ');
    expect([rewrite, stop, name, answer, auto, rest]).toEqual(['rewrite', 'stop', 'name', 'answer', 'auto', []]);
    expect(target.endsWith('.')).toBe(true);
    if (type === 'exact') return { matches: (fqdn) => fqdn === `${from}.`, target: target.slice(0, -1) };
    expect(type).toBe('regex');
    const pattern = new RegExp(from);
    return { matches: (fqdn) => pattern.test(fqdn), target: target.slice(0, -1) };
  });
  return (query) => matchers.find((matcher) => matcher.matches(`${query.toLowerCase()}.`))?.target;
}

/**
 * What Ingress and Gateway API say a name resolves to: its exact route, else an Ingress wildcard
 * one label up, else the Gateway API (suffix) wildcard with the longest parent that ends the name.
 */
function expectedTarget(input: readonly Route[], name: string): string | undefined {
  const byHost = new Map(input.map((r) => [r.host, r]));
  const oneUp = byHost.get(name.replace(/^[^.]+/, '*'));
  if (byHost.has(name)) return byHost.get(name)?.target;
  if (oneUp && oneUp.wildcard !== 'suffix') return oneUp.target;
  const labels = name.split('.');
  for (let i = 1; i < labels.length; i++) {
    const wildcard = byHost.get(`*.${labels.slice(i).join('.')}`);
    if (wildcard?.wildcard === 'suffix') return wildcard.target;
  }
  return undefined;
}

describe('renderCorefile (properties)', () => {
  const corefile = fc.constantFrom(...FIXTURES);

  it('is idempotent, and removal undoes it', () => {
    fc.assert(
      fc.property(corefile, routes, (input, rs) => {
        const rendered = renderCorefile(input, rs);
        expect(renderCorefile(rendered, rs)).toBe(rendered);
        expect(removeHairpinRules(rendered)).toBe(removeHairpinRules(input));
      }),
    );
  });

  it('restores any Corefile without lines of ours exactly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CLEAN), routes, (input, rs) => {
        expect(removeHairpinRules(renderCorefile(input, rs))).toBe(input);
      }),
    );
  });

  it('changes only lines between our markers', () => {
    fc.assert(
      fc.property(corefile, routes, (input, rs) => {
        expect(withoutOurBlocks(renderCorefile(input, rs))).toBe(removeHairpinRules(input));
      }),
    );
  });

  it('does not depend on the order of the routes or on duplicates', () => {
    const shuffled = routes.chain((rs) => fc.tuple(fc.constant(rs), fc.shuffledSubarray(rs, { minLength: rs.length })));
    fc.assert(
      fc.property(corefile, shuffled, (input, [rs, reordered]) => {
        expect(renderCorefile(input, [...reordered, ...rs])).toBe(renderCorefile(input, rs));
      }),
    );
  });

  it('sends every route host to its target and any other name nowhere, as Ingress and Gateway API would', () => {
    fc.assert(
      fc.property(routes, fc.array(probe, { maxLength: 50 }), (rs, probes) => {
        const resolve = resolverOf(renderCorefile(CLEAN[0] ?? '', rs));
        for (const route of rs.filter((r) => !r.host.startsWith('*'))) expect(resolve(route.host)).toBe(route.target);
        for (const name of probes) expect(resolve(name)).toBe(expectedTarget(rs, name));
      }),
    );
  });
});

describe('renderCorefile size', () => {
  it('keeps 5,000 hosts under 50 parent domains far below the 1 MiB ConfigMap limit', () => {
    const many: Route[] = [];
    for (let domain = 0; domain < 50; domain += 1) {
      for (let app = 0; app < 100; app += 1) many.push({ host: `app-${app}-frontend.team-${domain}.apps.example.com`, target: TARGETS[0] });
    }
    const rendered = renderCorefile(FIXTURES[0] ?? '', many);
    const bytes = Buffer.byteLength(rendered);
    console.log(`5,000 hosts under 50 parents: ${bytes} bytes, ${rendered.split('\n').length} lines`);
    expect(bytes).toBeLessThan(256 * 1024);
    const resolve = resolverOf(rendered);
    for (const route of many) expect(resolve(route.host)).toBe(route.target);
  });
});
