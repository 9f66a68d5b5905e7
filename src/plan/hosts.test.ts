import { describe, expect, it } from '@jest/globals';
import type { ServiceLike } from '../model/objects.js';
import type { RoutePlan } from './routes.js';
import { planHostsFile } from './hosts.js';

const route = (host: string, target: string) => ({ host, target, sources: ['ingress/default/x'], class: null, upstream: 'ns/svc', proxy: 'v1' as const, claimedSince: '' });
const service = (name: string, spec: ServiceLike['spec']): ServiceLike => ({ metadata: { namespace: 'hairpin-proxy', name }, spec });

describe('planHostsFile', () => {
  it('maps each routed host to its hairpin Service\'s ClusterIPs, both families, and skips what /etc/hosts cannot hold', () => {
    const plan: RoutePlan = {
      routes: [
        route('*.apps.example.com', 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local'),
        route('dual.example.com', 'dual.hairpin-proxy.svc.cluster.local'),
        route('headless.example.com', 'headless.hairpin-proxy.svc.cluster.local'),
        route('missing.example.com', 'missing.hairpin-proxy.svc.cluster.local'),
        route('shop.example.com', 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local'),
      ],
      skipped: [],
      upstreams: [],
    };
    const services = [
      service('hairpin-proxy-haproxy', { clusterIP: '10.96.100.100' }),
      service('dual', { clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7', 'fd00::7'] }),
      service('headless', { clusterIP: 'None' }),
    ];
    expect(planHostsFile(plan, services, 'hairpin-proxy')).toEqual({
      entries: [
        { host: 'dual.example.com', addresses: ['10.96.0.7', 'fd00::7'] },
        { host: 'shop.example.com', addresses: ['10.96.100.100'] },
      ],
      skipped: [
        { host: '*.apps.example.com', reason: '/etc/hosts cannot hold a wildcard' },
        { host: 'headless.example.com', reason: expect.stringMatching(/no ClusterIP/) },
        { host: 'missing.example.com', reason: expect.stringMatching(/no ClusterIP/) },
      ],
    });
  });
});
