import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { anIngress, anIngressClass } from '../testing/builders.js';
import { planRoutes, type RoutePolicy } from './routes.js';

const target = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
const policy: RoutePolicy = { ingressClasses: [], target, clusterDomain: 'cluster.local' };

describe('planRoutes', () => {
  it('routes every rule and TLS host of every Ingress to the target', () => {
    const plan = planRoutes(
      { ingresses: [anIngress('shop', { hosts: ['shop.example.com'], tlsHosts: ['www.example.com'] })], ingressClasses: [] },
      policy,
    );
    expect(plan).toEqual({
      routes: [
        { host: 'shop.example.com', target, sources: ['ingress/default/shop'] },
        { host: 'www.example.com', target, sources: ['ingress/default/shop'] },
      ],
      skipped: [],
    });
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
    expect(plan.routes).toEqual([{ host: 'example.com', target, sources: ['ingress/a/web', 'ingress/b/api'] }]);
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
      { host: 'bad_host.example.com', reason: expect.stringMatching(/RFC 1123/), source: 'ingress/default/bad' },
      { host: 'kubernetes.default.svc.cluster.local', reason: expect.stringMatching(/cluster domain/), source: 'ingress/default/bad' },
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
