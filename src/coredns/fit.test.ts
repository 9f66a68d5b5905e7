import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { renderCorefile, type Route } from './corefile.js';
import { CONFIGMAP_MAX_BYTES, fitRoutes } from './fit.js';

const T = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
const KUBEADM = readFileSync(new URL('./fixtures/kubeadm.Corefile', import.meta.url), 'utf8');
/** One line per item: a rendering whose size is known, so the expected prefix is too. */
const lines = (items: readonly string[]) => items.map((item) => `${item}\n`).join('');

describe('fitRoutes', () => {
  it.each<[string, string[], number, string[]]>([
    ['everything fits: all kept, nothing dropped', ['aa', 'bb'], 6, ['aa', 'bb']],
    ['the newest claims are dropped first', ['aa', 'bb', 'cc'], 7, ['aa', 'bb']],
    ['exactly at the limit fits', ['aa', 'bb', 'cc'], 9, ['aa', 'bb', 'cc']],
    ['the oldest alone does not fit: none kept', ['aaaa', 'b'], 3, []],
    ['no routes: nothing to drop', [], 0, []],
  ])('%s', (_name, routes, maxBytes, kept) => {
    const fitted = fitRoutes(routes, lines, maxBytes);
    expect(fitted.kept).toEqual(kept);
    expect(fitted.dropped).toEqual(routes.slice(kept.length));
    expect(fitted.text).toBe(lines(kept));
    expect(fitted.fits).toBe(true);
  });

  it('puts the routes oldest first only when they do not all fit, and keeps a prefix of that order', () => {
    let orderings = 0;
    const oldestFirst = (routes: readonly string[]) => ((orderings += 1), [...routes].sort());
    expect(fitRoutes(['cc', 'aa', 'bb'], lines, 9, oldestFirst)).toMatchObject({ kept: ['cc', 'aa', 'bb'], dropped: [] });
    expect(orderings).toBe(0);
    expect(fitRoutes(['cc', 'aa', 'bb'], lines, 7, oldestFirst)).toMatchObject({ kept: ['aa', 'bb'], dropped: ['cc'] });
    expect(orderings).toBe(1);
  });

  it('says so when even no routes do not fit, and keeps none', () => {
    const fitted = fitRoutes(['a'], (routes) => `header\n${lines(routes)}`, 3);
    expect(fitted).toMatchObject({ kept: [], dropped: ['a'], fits: false, bytes: 7 });
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(fitRoutes(['é'], lines, 2)).toMatchObject({ kept: [], bytes: 0 });
    expect(fitRoutes(['é'], lines, 3)).toMatchObject({ kept: ['é'], bytes: 3 });
  });

  it('renders once when everything fits, and about log2(n) times when not', () => {
    let renders = 0;
    const counting = (routes: readonly string[]) => ((renders += 1), lines(routes));
    const routes = Array.from({ length: 1_000 }, (_, i) => `h${i}`);
    fitRoutes(routes, counting, 1e9);
    expect(renders).toBe(1);
    renders = 0;
    fitRoutes(routes, counting, 1_000);
    expect(renders).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(routes.length)));
  });

  it('keeps the longest prefix that fits, for any sizes (a rendering that grows with the prefix)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 8 }), { maxLength: 60 }), fc.nat(300), (routes, maxBytes) => {
        const fitted = fitRoutes(routes, lines, maxBytes);
        expect([...fitted.kept, ...fitted.dropped]).toEqual(routes);
        expect(fitted.bytes).toBeLessThanOrEqual(maxBytes);
        const [next] = fitted.dropped;
        if (next !== undefined) expect(new TextEncoder().encode(lines([...fitted.kept, next])).byteLength).toBeGreaterThan(maxBytes);
      }),
    );
  });

  it('a new host never pushes out a routed one: appending a claim keeps every route that was kept', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 8 }), { maxLength: 40 }), fc.string({ maxLength: 20 }), fc.nat(200), (routes, newcomer, maxBytes) => {
        const before = fitRoutes(routes, lines, maxBytes);
        const after = fitRoutes([...routes, newcomer], lines, maxBytes);
        expect(after.kept.slice(0, before.kept.length)).toEqual(before.kept);
      }),
    );
  });

  it('with the real Corefile rendering: 20,000 hosts under distinct parents fit in a ConfigMap', () => {
    const routes: Route[] = Array.from({ length: 20_000 }, (_, i) => ({ host: `svc-${i}.team-${i}.example${i % 97}.com`, target: T }));
    const fitted = fitRoutes(routes, (kept) => renderCorefile(KUBEADM, kept), CONFIGMAP_MAX_BYTES);
    expect(fitted.dropped).toEqual([]);
    expect(fitted.bytes).toBeLessThanOrEqual(512 * 1024);
  });

  it('with the real Corefile rendering and a small limit: a prefix, and the rest dropped', () => {
    const routes: Route[] = Array.from({ length: 2_000 }, (_, i) => ({ host: `svc-${i}.team-${i}.example${i % 97}.com`, target: T }));
    const fitted = fitRoutes(routes, (kept) => renderCorefile(KUBEADM, kept), 20_000);
    expect(fitted.kept.length).toBeGreaterThan(0);
    expect(fitted.dropped.length).toBeGreaterThan(0);
    expect(fitted.bytes).toBeLessThanOrEqual(20_000);
    expect(fitted.text).toBe(renderCorefile(KUBEADM, fitted.kept));
  });
});
