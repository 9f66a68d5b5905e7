import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { aGateway, aListener, anIngress, anIngressClass, aRoute, aService } from '../testing/builders.js';
import { byClaimAge, ENABLED_ANNOTATION, planRoutes, routePolicyOf, type PolicyFlags, type RoutePolicy } from './routes.js';
import { hairpinServiceName } from './upstreams.js';

const target = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
const flags: PolicyFlags = {
  ingressClasses: [],
  targets: [],
  ingressController: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' },
  proxyProtocol: 'v1',
  targetNamespace: 'hairpin-proxy',
  targetService: 'hairpin-proxy-haproxy',
  clusterDomain: 'cluster.local',
  haproxyPorts: [80, 443],
  optIn: false,
  rewriteWhenIpModeProxy: false,
};
const policy: RoutePolicy = routePolicyOf(flags);
/** A route of the single upstream, as today: the fields every route has. */
const single = (host: string, sources: string[], cls: string | null = null) => ({ host, target, sources, class: cls, upstream: 'ingress-nginx/ingress-nginx-controller', proxy: 'v1', claimedSince: '' });

describe('planRoutes', () => {
  it('routes every rule and TLS host of every Ingress to the target', () => {
    const plan = planRoutes(
      { ingresses: [anIngress('shop', { hosts: ['shop.example.com'], tlsHosts: ['www.example.com'] })], ingressClasses: [] },
      policy,
    );
    expect(plan.routes).toEqual([single('shop.example.com', ['ingress/default/shop']), single('www.example.com', ['ingress/default/shop'])]);
    expect(plan.skipped).toEqual([]);
  });

  it('gives a host shared by several Ingresses one route that names them all', () => {
    const plan = planRoutes(
      {
        ingresses: [
          anIngress('api', { namespace: 'b', hosts: ['Example.com'] }),
          anIngress('web', { namespace: 'a', hosts: ['example.com'] }),
        ],
        ingressClasses: [],
      },
      policy,
    );
    expect(plan.routes).toEqual([single('example.com', ['ingress/a/web', 'ingress/b/api'])]);
  });

  it('keeps wildcard hosts', () => {
    const plan = planRoutes({ ingresses: [anIngress('w', { hosts: ['*.apps.example.com'] })], ingressClasses: [] }, policy);
    expect(plan.routes.map((r) => r.host)).toEqual(['*.apps.example.com']);
  });

  it('skips invalid hosts with the reason and the Ingress that asked for them', () => {
    const plan = planRoutes(
      { ingresses: [anIngress('bad', { hosts: ['ok.example.com', 'bad_host.example.com', 'kubernetes.default.svc.cluster.local'] })], ingressClasses: [] },
      policy,
    );
    expect(plan.routes.map((r) => r.host)).toEqual(['ok.example.com']);
    expect(plan.skipped).toEqual([
      { host: 'bad_host.example.com', reason: expect.stringMatching(/RFC 1123/), source: 'ingress/default/bad', kind: 'invalid' },
      { host: 'kubernetes.default.svc.cluster.local', reason: expect.stringMatching(/cluster domain/), source: 'ingress/default/bad', kind: 'invalid' },
    ]);
  });

  it('serves only the configured ingress classes, the default class included', () => {
    const plan = planRoutes(
      {
        ingresses: [
          anIngress('a', { className: 'nginx', hosts: ['a.example.com'] }),
          anIngress('b', { className: 'traefik', hosts: ['b.example.com'] }),
          anIngress('c', { legacyClass: 'nginx', hosts: ['c.example.com'] }),
          anIngress('d', { hosts: ['d.example.com'] }),
        ],
        ingressClasses: [anIngressClass('nginx', { isDefault: true }), anIngressClass('traefik')],
      },
      { ...policy, ingressClasses: ['nginx'] },
    );
    expect(plan.routes.map((r) => r.host)).toEqual(['a.example.com', 'c.example.com', 'd.example.com']);
  });

  it('dates each route by the oldest object claiming it, and orders routes oldest claim first', () => {
    const created = (ingress: ReturnType<typeof anIngress>, at: string | Date) => ({ ...ingress, metadata: { ...ingress.metadata, creationTimestamp: at } });
    const plan = planRoutes(
      {
        ingresses: [
          created(anIngress('newer', { hosts: ['shared.example.com', 'new.example.com'] }), '2026-12-02T10:00:00Z'),
          created(anIngress('older', { hosts: ['shared.example.com', 'zzz.example.com'] }), new Date('2026-01-01T00:00:00.000Z')),
          anIngress('unknown-age', { hosts: ['unknown.example.com'] }),
        ],
        ingressClasses: [],
      },
      policy,
    );
    expect(Object.fromEntries(plan.routes.map((route) => [route.host, route.claimedSince]))).toEqual({
      'new.example.com': '2026-12-02T10:00:00Z',
      'shared.example.com': '2026-01-01T00:00:00Z',
      'unknown.example.com': '',
      'zzz.example.com': '2026-01-01T00:00:00Z',
    });
    expect(byClaimAge(plan.routes).map((route) => route.host)).toEqual(['unknown.example.com', 'shared.example.com', 'zzz.example.com', 'new.example.com']);
  });

  it('does not depend on the order of the cache', () => {
    const hostArb = fc.constantFrom('a.example.com', 'B.example.com', '*.example.com', 'bad_.example.com', 'x.y.example.org');
    const ingressArb = fc.record({ name: fc.constantFrom('i1', 'i2', 'i3'), hosts: fc.array(hostArb, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(ingressArb, { maxLength: 6 }), (specs) => {
        const ingresses = specs.map((s, i) => anIngress(`${s.name}-${i}`, { hosts: s.hosts }));
        const forward = planRoutes({ ingresses, ingressClasses: [] }, policy);
        const backward = planRoutes({ ingresses: [...ingresses].reverse(), ingressClasses: [] }, policy);
        expect(backward).toEqual(forward);
        expect(new Set(forward.routes.map((r) => r.host)).size).toBe(forward.routes.length);
      }),
    );
  });
});

describe('planRoutes with --target', () => {
  const NGINX = 'ingress-nginx/ingress-nginx-controller';
  const ENVOY = 'envoy-gateway-system/envoy-public';
  const withTargets = (more: Partial<PolicyFlags> = {}): RoutePolicy =>
    routePolicyOf({
      ...flags,
      targets: [
        { keys: [{ kind: 'class', name: 'nginx' }], upstream: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' }, proxyProtocol: undefined },
        { keys: [{ kind: 'class', name: 'eg' }, { kind: 'gateway', namespace: 'infra', name: 'special' }], upstream: { namespace: 'envoy-gateway-system', name: 'envoy-public' }, proxyProtocol: 'v2' },
      ],
      ...more,
    });
  const gateways = [
    aGateway('public', { namespace: 'infra', className: 'eg', listeners: [aListener('http', { from: 'All' })] }),
    aGateway('special', { namespace: 'infra', className: 'other', listeners: [aListener('http', { from: 'All' })] }),
    aGateway('unmapped', { namespace: 'infra', className: 'other', listeners: [aListener('http', { from: 'All' })] }),
  ];
  const routeVia = (name: string, gateway: string, hostnames: string[], more: Parameters<typeof aRoute>[1] = {}) =>
    aRoute(name, { namespace: 'shop', hostnames, parents: [{ ref: { name: gateway, namespace: 'infra' } }], ...more });
  const nginxTarget = `${hairpinServiceName('hairpin-proxy-haproxy', { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' })}.hairpin-proxy.svc.cluster.local`;
  const envoyTarget = `${hairpinServiceName('hairpin-proxy-haproxy', { namespace: 'envoy-gateway-system', name: 'envoy-public' })}.hairpin-proxy.svc.cluster.local`;

  it('sends each class to its upstream, with its PROXY version and its own hairpin Service', () => {
    const plan = planRoutes(
      {
        ingresses: [anIngress('shop', { className: 'nginx', hosts: ['shop.example.com'] })],
        ingressClasses: [],
        gateways,
        routes: [routeVia('api', 'public', ['api.example.com'])],
      },
      withTargets(),
    );
    expect(plan.routes).toEqual([
      { host: 'api.example.com', target: envoyTarget, sources: ['httproute/shop/api'], class: 'eg', upstream: ENVOY, proxy: 'v2', claimedSince: '' },
      { host: 'shop.example.com', target: nginxTarget, sources: ['ingress/default/shop'], class: 'nginx', upstream: NGINX, proxy: 'v1', claimedSince: '' },
    ]);
    expect(nginxTarget).not.toBe(envoyTarget);
  });

  type Case = { name: string; snapshot: Partial<Parameters<typeof planRoutes>[0]>; policy?: RoutePolicy; routes: Array<[host: string, upstream: string]>; skipped: Array<[host: string, kind: string, reason: RegExp]> };
  const cases: Case[] = [
    {
      name: 'a Gateway key wins over its class',
      snapshot: { gateways, routes: [routeVia('r', 'special', ['special.example.com'])] },
      routes: [['special.example.com', ENVOY]],
      skipped: [],
    },
    {
      name: 'hosts of unmapped classes and Gateways are skipped, saying why',
      snapshot: { ingresses: [anIngress('t', { className: 'traefik', hosts: ['t.example.com'] }), anIngress('none', { hosts: ['n.example.com'] })], gateways, routes: [routeVia('u', 'unmapped', ['u.example.com'])] },
      routes: [],
      skipped: [
        ['u.example.com', 'unmapped', /neither Gateway infra\/unmapped nor GatewayClass other has a --target/],
        ['n.example.com', 'unmapped', /no class/],
        ['t.example.com', 'unmapped', /IngressClass traefik has no --target/],
      ],
    },
    {
      name: 'a host claimed by two upstreams is skipped: one entry per claimant, each naming the other',
      snapshot: { ingresses: [anIngress('shop', { className: 'nginx', hosts: ['both.example.com', 'only.example.com'] })], gateways, routes: [routeVia('api', 'public', ['both.example.com'])] },
      routes: [['only.example.com', NGINX]],
      skipped: [
        ['both.example.com', 'conflict', /also claimed by ingress\/default\/shop \(upstream ingress-nginx\/ingress-nginx-controller\)/],
        ['both.example.com', 'conflict', /also claimed by httproute\/shop\/api \(upstream envoy-gateway-system\/envoy-public\)/],
      ],
    },
    {
      name: 'two sources of one upstream share a host without conflict',
      snapshot: { ingresses: [anIngress('a', { className: 'nginx', hosts: ['x.example.com'] }), anIngress('b', { className: 'nginx', hosts: ['x.example.com'] })] },
      routes: [['x.example.com', NGINX]],
      skipped: [],
    },
    {
      name: 'an upstream whose load balancer reports ipMode Proxy needs no hairpin (KEP-1860)',
      snapshot: { ingresses: [anIngress('shop', { className: 'nginx', hosts: ['shop.example.com'] })], gateways, routes: [routeVia('api', 'public', ['api.example.com'])], services: [aService(NGINX, { ipModes: ['Proxy'] })] },
      routes: [['api.example.com', ENVOY]],
      skipped: [['shop.example.com', 'ipmode-proxy', /ipMode Proxy/]],
    },
    {
      name: '--rewrite-when-ipmode-proxy rewrites them anyway',
      snapshot: { ingresses: [anIngress('shop', { className: 'nginx', hosts: ['shop.example.com'] })], services: [aService(NGINX, { ipModes: ['Proxy'] })] },
      policy: withTargets({ rewriteWhenIpModeProxy: true }),
      routes: [['shop.example.com', NGINX]],
      skipped: [],
    },
    {
      name: 'ipMode Proxy on only some load balancer addresses still needs the hairpin',
      snapshot: { ingresses: [anIngress('shop', { className: 'nginx', hosts: ['shop.example.com'] })], services: [aService(NGINX, { ipModes: ['Proxy', 'VIP'] })] },
      routes: [['shop.example.com', NGINX]],
      skipped: [],
    },
    {
      name: 'hairpin-proxy.io/enabled: "false" opts an Ingress or a route out',
      snapshot: {
        ingresses: [anIngress('off', { className: 'nginx', hosts: ['off.example.com'], annotations: { [ENABLED_ANNOTATION]: 'false' } })],
        gateways,
        routes: [routeVia('r', 'public', ['r.example.com'], { annotations: { [ENABLED_ANNOTATION]: 'false' } })],
      },
      routes: [],
      skipped: [
        ['r.example.com', 'opted-out', /opted out/],
        ['off.example.com', 'opted-out', /opted out/],
      ],
    },
    {
      name: '--opt-in serves only objects annotated "true"',
      snapshot: {
        ingresses: [anIngress('plain', { className: 'nginx', hosts: ['plain.example.com'] }), anIngress('on', { className: 'nginx', hosts: ['on.example.com'], annotations: { [ENABLED_ANNOTATION]: 'true' } })],
        gateways,
        routes: [routeVia('r', 'public', ['r.example.com'], { annotations: { [ENABLED_ANNOTATION]: 'true' } }), routeVia('q', 'public', ['q.example.com'])],
      },
      policy: withTargets({ optIn: true }),
      routes: [
        ['on.example.com', NGINX],
        ['r.example.com', ENVOY],
      ],
      skipped: [],
    },
    {
      name: 'a route not accepted by its Gateway counts for nothing',
      snapshot: { gateways, routes: [aRoute('r', { namespace: 'shop', hostnames: ['r.example.com'], parents: [{ ref: { name: 'public', namespace: 'infra' }, accepted: 'False' }] })] },
      routes: [],
      skipped: [],
    },
    {
      name: 'a route hostname is narrowed to its listener hostname, and a route without one inherits it',
      snapshot: {
        gateways: [aGateway('public', { namespace: 'infra', className: 'eg', listeners: [aListener('http', { hostname: '*.example.com', from: 'All' })] })],
        routes: [routeVia('wide', 'public', ['*.com', 'a.example.com', 'a.example.org']), routeVia('bare', 'public', [])],
      },
      routes: [
        ['*.example.com', ENVOY],
        ['a.example.com', ENVOY],
      ],
      skipped: [],
    },
  ];

  it.each(cases)('$name', ({ snapshot, policy: given, routes, skipped }) => {
    const plan = planRoutes({ ingresses: [], ingressClasses: [], ...snapshot }, given ?? withTargets());
    expect(plan.routes.map((r) => [r.host, r.upstream])).toEqual(routes);
    expect(plan.skipped).toEqual(skipped.map(([host, kind, reason]) => expect.objectContaining({ host, kind, reason: expect.stringMatching(reason) })));
  });

  it('marks wildcards: a Gateway API one is a suffix, an Ingress one a single label, and the suffix wins when both name it', () => {
    const plan = planRoutes(
      {
        ingresses: [anIngress('i', { className: 'eg', hosts: ['*.one.example.com', '*.both.example.com'] })],
        ingressClasses: [],
        gateways,
        routes: [routeVia('r', 'public', ['*.suffix.example.com', '*.both.example.com'])],
      },
      withTargets({ targets: [{ keys: [{ kind: 'class', name: 'eg' }], upstream: { namespace: 'envoy-gateway-system', name: 'envoy-public' }, proxyProtocol: undefined }] }),
    );
    expect(plan.routes.map((r) => [r.host, r.wildcard])).toEqual([
      ['*.both.example.com', 'suffix'],
      ['*.one.example.com', 'one-label'],
      ['*.suffix.example.com', 'suffix'],
    ]);
  });

  it('without --target, ignores Gateway API routes and keeps every Ingress on the one upstream, as before', () => {
    const plan = planRoutes({ ingresses: [anIngress('t', { className: 'traefik', hosts: ['t.example.com'] })], ingressClasses: [], gateways, routes: [routeVia('api', 'public', ['api.example.com'])] }, policy);
    expect(plan.routes).toEqual([single('t.example.com', ['ingress/default/t'], 'traefik')]);
    expect(plan.skipped).toEqual([]);
  });

  it('never routes a host to two upstreams, and never loses one: each host is routed or skipped', () => {
    const hostArb = fc.constantFrom('a.example.com', 'b.example.com', '*.example.com', 'c.example.org');
    const ingressArb = fc.record({ cls: fc.constantFrom('nginx', 'eg', 'traefik'), hosts: fc.array(hostArb, { maxLength: 3 }), off: fc.boolean() });
    const routeArb = fc.record({ gateway: fc.constantFrom('public', 'special', 'unmapped'), hosts: fc.array(hostArb, { maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(ingressArb, { maxLength: 5 }), fc.array(routeArb, { maxLength: 5 }), (ingressSpecs, routeSpecs) => {
        const ingresses = ingressSpecs.map((s, i) => anIngress(`i${i}`, { className: s.cls, hosts: s.hosts, ...(s.off ? { annotations: { [ENABLED_ANNOTATION]: 'false' } } : {}) }));
        const routes = routeSpecs.map((s, i) => routeVia(`r${i}`, s.gateway, s.hosts));
        const plan = planRoutes({ ingresses, ingressClasses: [], gateways, routes }, withTargets());
        const routed = plan.routes.map((r) => r.host);
        expect(new Set(routed).size).toBe(routed.length);
        for (const host of new Set([...ingressSpecs.flatMap((s) => s.hosts), ...routeSpecs.flatMap((s) => s.hosts)])) {
          expect(routed.includes(host) || plan.skipped.some((s) => s.host === host)).toBe(true);
          if (routed.includes(host)) expect(plan.skipped.filter((s) => s.host === host && s.kind === 'conflict')).toEqual([]);
        }
      }),
    );
  });
  it('plans the same from reused objects as from scratch, whatever changed between syncs', () => {
    const specArb = fc.record({ cls: fc.constantFrom('nginx', 'eg'), hosts: fc.array(fc.constantFrom('a.example.com', 'b.example.com', 'Bad_Host', '*.example.com'), { maxLength: 3 }) });
    const stepArb = fc.array(fc.record({ index: fc.nat({ max: 5 }), spec: fc.option(specArb) }), { maxLength: 4 });
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 1, maxLength: 6 }), fc.array(stepArb, { maxLength: 5 }), fc.boolean(), (initial, steps, newClasses) => {
        const policy = withTargets();
        let ingresses = initial.map((spec, i) => anIngress(`i${i}`, { className: spec.cls, hosts: spec.hosts }));
        let ingressClasses = [anIngressClass('nginx')];
        for (const changes of steps) {
          // Each step replaces, adds or deletes a few objects and keeps the others as the same references.
          const next = [...ingresses];
          for (const { index, spec } of changes) {
            if (spec === null) next.splice(index, 1);
            else next[Math.min(index, next.length)] = anIngress(`i${index}`, { className: spec.cls, hosts: spec.hosts });
          }
          ingresses = next;
          if (newClasses) ingressClasses = [anIngressClass('nginx')];
          const snapshot = { ingresses, ingressClasses, gateways, routes: [] };
          expect(planRoutes(snapshot, policy)).toEqual(planRoutes(snapshot, { ...policy }));
        }
      }),
    );
  });
});
