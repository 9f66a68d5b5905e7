import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { RoutePlan } from './routes.js';
import { dnsEndpointName, planDnsEndpoints } from './dns-endpoints.js';

const route = (host: string) => ({ host, target: 'hp.hairpin-proxy.svc.cluster.local', sources: ['ingress/default/x'], class: null, upstream: 'ns/svc', proxy: 'v1' as const, claimedSince: '' });

describe('planDnsEndpoints', () => {
  it('gives each routed host, wildcards included, A and AAAA records of its hairpin Service', () => {
    const plan: RoutePlan = { routes: [route('*.apps.example.com'), route('shop.example.com')], skipped: [], upstreams: [] };
    const services = [{ metadata: { namespace: 'hairpin-proxy', name: 'hp' }, spec: { clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7', 'fd00::7'] } }];
    const { objects, skipped } = planDnsEndpoints(plan, services, 'hairpin-proxy');
    expect(skipped).toEqual([]);
    expect(objects.map((o) => [o.host, o.endpoints.map((e) => `${e.recordType} ${e.targets.join(',')}`)])).toEqual([
      ['*.apps.example.com', ['A 10.96.0.7', 'AAAA fd00::7']],
      ['shop.example.com', ['A 10.96.0.7', 'AAAA fd00::7']],
    ]);
    expect(objects[0]?.name).toMatch(/^hairpin-[0-9a-f]{8}-wildcard\.apps\.example\.com$/);
  });
});

describe('dnsEndpointName', () => {
  it('is a valid, unique object name for any host', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
    const host = fc.tuple(fc.boolean(), fc.array(label, { minLength: 2, maxLength: 5 })).map(([wild, labels]) => (wild ? `*.${labels.join('.')}` : labels.join('.')));
    fc.assert(
      fc.property(host, host, (a, b) => {
        for (const name of [dnsEndpointName(a), dnsEndpointName(b)]) {
          expect(name.length).toBeLessThanOrEqual(253);
          expect(name).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
        }
        if (a !== b) expect(dnsEndpointName(a)).not.toBe(dnsEndpointName(b));
      }),
    );
  });
});
