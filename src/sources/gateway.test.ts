import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { GatewayLike, ListenerLike, ParentRefLike, RouteLike } from '../model/objects.js';
import { aGateway, aListener, aRoute } from '../testing/builders.js';
import { intersectHostnames, ROUTE_KINDS, routeHostnames } from './gateway.js';

/** A reference matcher, by labels: does `pattern` match every name `name` stands for? */
function matches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase().split('.');
  const n = name.toLowerCase().split('.');
  if (p[0] !== '*') return p.length === n.length && p.every((label, i) => label === n[i]);
  const suffix = p.slice(1);
  return n.length > suffix.length && suffix.every((label, i) => label === n[n.length - suffix.length + i]);
}

describe('intersectHostnames', () => {
  const cases: ReadonlyArray<[route: string, listener: string, expected: string | undefined]> = [
    ['a.example.com', 'a.example.com', 'a.example.com'],
    ['a.example.com', 'b.example.com', undefined],
    ['Shop.Example.COM', 'shop.example.com', 'shop.example.com'],
    ['a.example.com', '*.example.com', 'a.example.com'],
    ['a.b.example.com', '*.example.com', 'a.b.example.com'],
    ['example.com', '*.example.com', undefined],
    ['badexample.com', '*.example.com', undefined],
    ['*.example.com', 'a.example.com', 'a.example.com'],
    ['*.example.com', 'a.b.example.com', 'a.b.example.com'],
    ['*.example.com', 'example.com', undefined],
    ['*.Example.com', 'A.EXAMPLE.COM', 'a.example.com'],
    ['a.example.com', '*.com', 'a.example.com'],
    ['*.com', '*.example.com', '*.example.com'],
    ['*.example.com', '*.com', '*.example.com'],
    ['*.foo.example.com', '*.example.com', '*.foo.example.com'],
    ['*.example.com', '*.example.com', '*.example.com'],
    ['*.EXAMPLE.com', '*.example.COM', '*.example.com'],
    ['*.example.com', '*.example.org', undefined],
    ['*.badexample.com', '*.example.com', undefined],
    ['*.example.com', '', undefined],
    ['', 'a.example.com', undefined],
  ];

  it.each(cases)('%j ∩ %j = %j', (route, listener, expected) => {
    expect(intersectHostnames(route, listener)).toBe(expected);
  });

  const label = fc.constantFrom('a', 'A', 'b', 'com', 'Com');
  const concrete = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
  const hostname = fc.tuple(fc.boolean(), fc.array(label, { minLength: 1, maxLength: 3 })).map(([wildcard, labels]) => `${wildcard ? '*.' : ''}${labels.join('.')}`);

  it('is symmetric, and what it gives is matched by both inputs', () => {
    fc.assert(
      fc.property(hostname, hostname, (a, b) => {
        const result = intersectHostnames(a, b);
        expect(intersectHostnames(b, a)).toBe(result);
        if (result !== undefined) {
          expect(matches(a, result)).toBe(true);
          expect(matches(b, result)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('matches a name exactly when both inputs match it', () => {
    fc.assert(
      fc.property(hostname, hostname, concrete, (a, b, name) => {
        const result = intersectHostnames(a, b);
        expect(result !== undefined && matches(result, name)).toBe(matches(a, name) && matches(b, name));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('routeHostnames', () => {
  const infraPublic = { namespace: 'infra', name: 'public' };
  /** All namespaces, an HTTP and an HTTPS listener without hostname, and a TLS one with. */
  const publicGateway = aGateway('public', {
    namespace: 'infra',
    className: 'envoy',
    listeners: [
      aListener('http', { from: 'All' }),
      aListener('https', { port: 443, protocol: 'HTTPS', from: 'All' }),
      aListener('tls', { port: 8443, protocol: 'TLS', hostname: '*.tls.example.com', from: 'All' }),
    ],
  });
  /** One listener per port and per hostname, for sectionName and port. */
  const sectionsGateway = aGateway('sections', {
    namespace: 'infra',
    listeners: [
      aListener('a', { port: 80, hostname: 'a.example.com', from: 'All' }),
      aListener('b', { port: 8080, hostname: 'b.example.com', from: 'All' }),
    ],
  });
  const internalGateway = aGateway('internal', { namespace: 'infra', listeners: [aListener('http', { from: 'All' })] });
  const sameGateway = aGateway('same', { namespace: 'infra', listeners: [aListener('http', { hostname: '*.same.example.com' })] });
  const selectorGateway = aGateway('selector', { namespace: 'infra', listeners: [aListener('http', { hostname: 'sel.example.com', from: 'Selector' })] });
  const gateways = [publicGateway, sectionsGateway, internalGateway, sameGateway, selectorGateway];

  const toPublic: ParentRefLike = { name: 'public', namespace: 'infra' };

  /** Each result as `<namespace>/<gateway> <hostname>`. */
  const served = (route: RouteLike, from: readonly GatewayLike[] = gateways) =>
    routeHostnames(route, from).map((found) => `${found.gateway.namespace}/${found.gateway.name} ${found.hostname}`);

  const cases: ReadonlyArray<{ name: string; route: RouteLike; expected: string[] }> = [
    {
      name: 'an accepted route serves its hostnames through the Gateway',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parents: [{ ref: toPublic }] }),
      expected: ['infra/public shop.example.com'],
    },
    {
      name: 'a route without status counts for nothing, whatever its spec asks',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parentRefs: [toPublic] }),
      expected: [],
    },
    {
      name: 'Accepted=False counts for nothing',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parents: [{ ref: toPublic, accepted: 'False' }] }),
      expected: [],
    },
    {
      name: 'Accepted=Unknown counts for nothing',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parents: [{ ref: toPublic, accepted: 'Unknown' }] }),
      expected: [],
    },
    {
      name: 'other conditions True without Accepted count for nothing',
      route: {
        ...aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parentRefs: [toPublic] }),
        status: { parents: [{ parentRef: toPublic, conditions: [{ type: 'ResolvedRefs', status: 'True' }] }] },
      },
      expected: [],
    },
    {
      name: 'accepted by one parent only: only that Gateway',
      route: aRoute('shop', {
        namespace: 'apps',
        hostnames: ['shop.example.com'],
        parentRefs: [toPublic, { name: 'internal', namespace: 'infra' }],
        parents: [{ ref: toPublic, accepted: 'False' }, { ref: { name: 'internal', namespace: 'infra' } }],
      }),
      expected: ['infra/internal shop.example.com'],
    },
    {
      name: 'sectionName picks that listener only',
      route: aRoute('shop', { namespace: 'apps', parents: [{ ref: { name: 'sections', namespace: 'infra', sectionName: 'b' } }] }),
      expected: ['infra/sections b.example.com'],
    },
    {
      name: 'port picks the listeners on that port only',
      route: aRoute('shop', { namespace: 'apps', parents: [{ ref: { name: 'sections', namespace: 'infra', port: 8080 } }] }),
      expected: ['infra/sections b.example.com'],
    },
    {
      name: 'sectionName and port must both match',
      route: aRoute('shop', { namespace: 'apps', parents: [{ ref: { name: 'sections', namespace: 'infra', sectionName: 'a', port: 8080 } }] }),
      expected: [],
    },
    {
      name: 'sectionName from the spec parentRef when the status leaves it out',
      route: aRoute('shop', {
        namespace: 'apps',
        parentRefs: [{ name: 'sections', namespace: 'infra', sectionName: 'a' }],
        parents: [{ ref: { name: 'sections', namespace: 'infra' } }],
      }),
      expected: ['infra/sections a.example.com'],
    },
    {
      name: 'neither sectionName nor port: every listener',
      route: aRoute('shop', { namespace: 'apps', parents: [{ ref: { name: 'sections', namespace: 'infra' } }] }),
      expected: ['infra/sections a.example.com', 'infra/sections b.example.com'],
    },
    {
      name: 'a TLSRoute does not attach to HTTP listeners',
      route: aRoute('db', { kind: 'TLSRoute', namespace: 'apps', hostnames: ['db.example.com'], parents: [{ ref: { name: 'internal', namespace: 'infra' } }] }),
      expected: [],
    },
    {
      name: 'a TLSRoute attaches to TLS listeners only',
      route: aRoute('db', { kind: 'TLSRoute', namespace: 'apps', hostnames: ['db.tls.example.com', 'db.example.com'], parents: [{ ref: toPublic }] }),
      expected: ['infra/public db.tls.example.com'],
    },
    {
      name: 'an HTTPRoute does not attach to TLS listeners',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.tls.example.com'], parents: [{ ref: { ...toPublic, sectionName: 'tls' } }] }),
      expected: [],
    },
    {
      name: 'a GRPCRoute attaches to HTTPS listeners',
      route: aRoute('rpc', { kind: 'GRPCRoute', namespace: 'apps', hostnames: ['rpc.example.com'], parents: [{ ref: { ...toPublic, sectionName: 'https' } }] }),
      expected: ['infra/public rpc.example.com'],
    },
    {
      name: 'a kind that is not a served route counts for nothing',
      route: aRoute('tcp', { kind: 'TCPRoute', namespace: 'apps', hostnames: ['tcp.example.com'], parents: [{ ref: toPublic }] }),
      expected: [],
    },
    {
      name: 'allowedRoutes Same (the default) refuses a route from another namespace',
      route: aRoute('shop', { namespace: 'apps', parents: [{ ref: { name: 'same', namespace: 'infra' } }] }),
      expected: [],
    },
    {
      name: 'allowedRoutes Same admits a route from the Gateway’s namespace',
      route: aRoute('shop', { namespace: 'infra', hostnames: ['a.same.example.com'], parents: [{ ref: { name: 'same', namespace: 'infra' } }] }),
      expected: ['infra/same a.same.example.com'],
    },
    {
      name: 'allowedRoutes All admits a route from any namespace',
      route: aRoute('shop', { namespace: 'elsewhere', hostnames: ['shop.example.com'], parents: [{ ref: { name: 'internal', namespace: 'infra' } }] }),
      expected: ['infra/internal shop.example.com'],
    },
    {
      name: 'allowedRoutes Selector is left to the Accepted status',
      route: aRoute('shop', { namespace: 'apps', parents: [{ ref: { name: 'selector', namespace: 'infra' } }] }),
      expected: ['infra/selector sel.example.com'],
    },
    {
      name: 'a parentRef without namespace means the route’s own',
      route: aRoute('shop', { namespace: 'infra', hostnames: ['shop.example.com'], parents: [{ ref: { name: 'public' } }] }),
      expected: ['infra/public shop.example.com'],
    },
    {
      name: 'a parentRef without namespace does not reach a Gateway in another namespace',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parents: [{ ref: { name: 'public' } }] }),
      expected: [],
    },
    {
      name: 'a Gateway missing from the snapshot gives nothing',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parents: [{ ref: { name: 'gone', namespace: 'infra' } }] }),
      expected: [],
    },
    {
      name: 'a parent of another kind is not a Gateway',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parents: [{ ref: { ...toPublic, group: '', kind: 'Service' } }] }),
      expected: [],
    },
    {
      name: 'a parent of another group is not a Gateway',
      route: aRoute('shop', { namespace: 'apps', hostnames: ['shop.example.com'], parents: [{ ref: { ...toPublic, group: 'example.io', kind: 'Gateway' } }] }),
      expected: [],
    },
    {
      name: 'explicit Gateway group and kind are the defaults',
      route: aRoute('shop', {
        namespace: 'apps',
        hostnames: ['shop.example.com'],
        parents: [{ ref: { ...toPublic, group: 'gateway.networking.k8s.io', kind: 'Gateway', sectionName: 'http' } }],
      }),
      expected: ['infra/public shop.example.com'],
    },
    {
      name: 'a route without hostnames inherits the listener’s',
      route: aRoute('db', { kind: 'TLSRoute', namespace: 'apps', parents: [{ ref: toPublic }] }),
      expected: ['infra/public *.tls.example.com'],
    },
    {
      name: 'no hostnames on the route nor the listener: nothing (it matches every host)',
      route: aRoute('shop', { namespace: 'apps', parents: [{ ref: toPublic }] }),
      expected: [],
    },
    {
      name: 'route hostnames are narrowed to the listener’s',
      route: aRoute('shop', {
        namespace: 'apps',
        hostnames: ['*.example.com', 'a.example.com', 'a.example.org'],
        parents: [{ ref: { name: 'sections', namespace: 'infra' } }],
      }),
      expected: ['infra/sections a.example.com', 'infra/sections b.example.com'],
    },
  ];

  it.each(cases)('$name', ({ route, expected }) => {
    expect(served(route)).toEqual(expected);
  });

  it('reports the GatewayClass, and once per hostname and Gateway, sorted by Gateway then hostname', () => {
    const route = aRoute('shop', {
      namespace: 'apps',
      hostnames: ['z.example.com', 'a.example.com', 'A.example.com'],
      parents: [{ ref: toPublic }, { ref: { name: 'internal', namespace: 'infra' } }, { ref: toPublic }],
    });
    expect(routeHostnames(route, gateways)).toEqual([
      { hostname: 'a.example.com', gateway: { namespace: 'infra', name: 'internal' }, gatewayClass: undefined },
      { hostname: 'z.example.com', gateway: { namespace: 'infra', name: 'internal' }, gatewayClass: undefined },
      { hostname: 'a.example.com', gateway: infraPublic, gatewayClass: 'envoy' },
      { hostname: 'z.example.com', gateway: infraPublic, gatewayClass: 'envoy' },
    ]);
  });

  it('serves the route kinds HTTPRoute, GRPCRoute and TLSRoute', () => {
    expect(ROUTE_KINDS).toEqual(['HTTPRoute', 'GRPCRoute', 'TLSRoute']);
  });

  describe('over arbitrary routes and Gateways', () => {
    const namespace = fc.constantFrom('default', 'infra', 'apps');
    const name = fc.constantFrom('a', 'b', 'c');
    const hostname = fc.constantFrom('a.example.com', 'b.example.com', '*.example.com', 'x.a.example.com', '*.a.example.com', 'A.Example.com');
    const parentRef: fc.Arbitrary<ParentRefLike> = fc.record(
      {
        group: fc.constantFrom('gateway.networking.k8s.io', '', 'example.io'),
        kind: fc.constantFrom('Gateway', 'Service'),
        namespace,
        name,
        sectionName: fc.constantFrom('l1', 'l2', 'l3'),
        port: fc.constantFrom(80, 443),
      },
      { requiredKeys: ['name'] },
    );
    const listener: fc.Arbitrary<ListenerLike> = fc.record(
      {
        name: fc.constantFrom('l1', 'l2', 'l3'),
        hostname,
        port: fc.constantFrom(80, 443),
        protocol: fc.constantFrom('HTTP', 'HTTPS', 'TLS', 'TCP'),
        allowedRoutes: fc.record({ namespaces: fc.record({ from: fc.constantFrom('Same', 'All', 'Selector', 'Bogus') }, { requiredKeys: [] }) }),
      },
      { requiredKeys: ['name', 'port', 'protocol'] },
    );
    const gateway: fc.Arbitrary<GatewayLike> = fc
      .record({ namespace, name, listeners: fc.array(listener, { maxLength: 4 }) })
      .map((shape) => aGateway(shape.name, { namespace: shape.namespace, className: 'cls', listeners: shape.listeners }));
    const route: fc.Arbitrary<RouteLike> = fc.record({
      kind: fc.constantFrom(...ROUTE_KINDS, 'TCPRoute'),
      metadata: fc.record({ name: fc.constant('route'), namespace }),
      spec: fc.record({ hostnames: fc.array(hostname, { maxLength: 3 }), parentRefs: fc.array(parentRef, { maxLength: 3 }) }, { requiredKeys: [] }),
      status: fc.record({
        parents: fc.array(
          fc.record({
            parentRef,
            conditions: fc.array(fc.record({ type: fc.constantFrom('Accepted', 'ResolvedRefs'), status: fc.constantFrom('True', 'False', 'Unknown') }), {
              maxLength: 2,
            }),
          }),
          { maxLength: 3 },
        ),
      }),
    });

    /** The spec's reading, written out again: which Gateways accepted the route. */
    const acceptedBy = (subject: RouteLike): string[] =>
      (subject.status?.parents ?? [])
        .filter((parent) => parent.conditions?.some((condition) => condition.type === 'Accepted' && condition.status === 'True'))
        .map((parent) => parent.parentRef ?? {})
        .filter((ref) => (ref.group === undefined || ref.group === 'gateway.networking.k8s.io') && (ref.kind === undefined || ref.kind === 'Gateway'))
        .map((ref) => `${ref.namespace ?? subject.metadata?.namespace}/${ref.name}`);

    it('never gives a hostname through a Gateway that has not accepted the route', () => {
      fc.assert(
        fc.property(route, fc.array(gateway, { maxLength: 4 }), (subject, from) => {
          const accepted = acceptedBy(subject);
          for (const found of routeHostnames(subject, from)) {
            expect(accepted).toContain(`${found.gateway.namespace}/${found.gateway.name}`);
          }
        }),
        { numRuns: 3000 },
      );
    });

    it('is sorted and has no duplicates', () => {
      fc.assert(
        fc.property(route, fc.array(gateway, { maxLength: 4 }), (subject, from) => {
          const keys = routeHostnames(subject, from).map((found) => `${found.gateway.namespace}/${found.gateway.name} ${found.hostname}`);
          expect(keys).toEqual([...new Set(keys)].sort());
        }),
        { numRuns: 1000 },
      );
    });
  });
});
