import { describe, expect, it } from '@jest/globals';
import type { EndpointSliceLike, ServiceLike } from '../model/objects.js';
import type { IngressTarget } from '../model/objects.js';
import { DEFAULT_HAPROXY_POLICY, desiredHaproxy, type ProxyProtocol, type UpstreamForwarding } from './desired.js';

const service = (annotations: Record<string, string> = {}, clusterIP = '10.96.0.10'): ServiceLike => ({
  metadata: { name: 'ingress-nginx-controller', namespace: 'ingress-nginx', annotations },
  spec: { clusterIP, ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443, protocol: 'TCP' }] },
});

const slice = (endpoints: Array<{ ip: string; ready?: boolean }>, ports = [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }]): EndpointSliceLike => ({
  addressType: 'IPv4',
  ports,
  endpoints: endpoints.map(({ ip, ready }) => ({ addresses: [ip], ...(ready === undefined ? {} : { conditions: { ready } }) })),
});

const PORTS = [
  { port: 80, listenPort: 80 },
  { port: 443, listenPort: 443 },
];
/** The one upstream of a cluster without --target. */
const ingress = (target: IngressTarget, proxyProtocol: ProxyProtocol = 'v1'): UpstreamForwarding[] => [{ name: 'ingress', proxyProtocol, ports: PORTS, target }];

describe('desiredHaproxy', () => {
  it('listens on each port and forwards it to the Service port of that number, through its target port', () => {
    const desired = desiredHaproxy(ingress({ service: service(), slices: [slice([{ ip: '10.1.0.2' }, { ip: '10.1.0.1' }])] }), DEFAULT_HAPROXY_POLICY);
    expect(desired.frontends).toEqual([
      { name: 'hairpin_frontend_80', port: 80, backend: 'hairpin_ingress_80' },
      { name: 'hairpin_frontend_443', port: 443, backend: 'hairpin_ingress_443' },
    ]);
    expect(desired.backends.map((b) => [b.name, b.endpoints])).toEqual([
      ['hairpin_ingress_80', [{ address: '10.1.0.1', port: 8080 }, { address: '10.1.0.2', port: 8080 }]],
      ['hairpin_ingress_443', [{ address: '10.1.0.1', port: 8443 }, { address: '10.1.0.2', port: 8443 }]],
    ]);
    expect(desired.warnings).toEqual([]);
  });

  it.each([
    ['ready: true', true, 1],
    ['ready unset (Kubernetes means ready)', undefined, 1],
    ['ready: false', false, 0],
  ])('an endpoint with %s is served: %s', (_what, ready, count) => {
    const desired = desiredHaproxy(ingress({ service: service(), slices: [slice([{ ip: '10.1.0.1', ...(ready === undefined ? {} : { ready }) }])] }), DEFAULT_HAPROXY_POLICY);
    expect(desired.backends[0]?.endpoints).toHaveLength(count);
  });

  it('merges slices and drops duplicates', () => {
    const desired = desiredHaproxy(ingress({ service: service(), slices: [slice([{ ip: '10.1.0.1' }]), slice([{ ip: '10.1.0.1' }, { ip: '10.1.0.3' }])] }), DEFAULT_HAPROXY_POLICY);
    expect(desired.backends[0]?.endpoints.map((e) => e.address)).toEqual(['10.1.0.1', '10.1.0.3']);
  });

  it.each(['v1', 'v2'] as const)('sends the upstream\'s PROXY %s', (version) => {
    const desired = desiredHaproxy(ingress({ service: service(), slices: [] }, version), DEFAULT_HAPROXY_POLICY);
    expect(desired.backends.map((b) => b.proxyProtocol)).toEqual([version, version]);
  });

  it('gives every upstream its own frontends on its listen ports, its own backends and its own PROXY version', () => {
    const other: EndpointSliceLike = slice([{ ip: '10.2.0.1' }], [{ name: 'http', port: 8000 }, { name: 'https', port: 8001 }]);
    const desired = desiredHaproxy(
      [
        { name: 'ingress-nginx_controller', proxyProtocol: 'v1', ports: [{ port: 80, listenPort: 23450 }, { port: 443, listenPort: 23451 }], target: { service: service(), slices: [slice([{ ip: '10.1.0.1' }])] } },
        { name: 'envoy_gw', proxyProtocol: 'v2', ports: [{ port: 80, listenPort: 21230 }, { port: 443, listenPort: 21231 }], target: { service: service(), slices: [other] } },
      ],
      DEFAULT_HAPROXY_POLICY,
    );
    expect(desired.frontends.map((f) => [f.port, f.backend])).toEqual([
      [21230, 'hairpin_envoy_gw_80'],
      [21231, 'hairpin_envoy_gw_443'],
      [23450, 'hairpin_ingress-nginx_controller_80'],
      [23451, 'hairpin_ingress-nginx_controller_443'],
    ]);
    expect(desired.backends.map((b) => [b.name, b.proxyProtocol, b.endpoints.map((e) => `${e.address}:${e.port}`)])).toEqual([
      ['hairpin_envoy_gw_80', 'v2', ['10.2.0.1:8000']],
      ['hairpin_envoy_gw_443', 'v2', ['10.2.0.1:8001']],
      ['hairpin_ingress-nginx_controller_80', 'v1', ['10.1.0.1:8080']],
      ['hairpin_ingress-nginx_controller_443', 'v1', ['10.1.0.1:8443']],
    ]);
  });

  it.each([
    ['no Service', undefined, [], /does not exist/],
    ['no matching Service port', { ...service(), spec: { ports: [{ name: 'http', port: 8000 }] } }, [], /no TCP port 80/],
    ['no ready endpoint', service(), [slice([{ ip: '10.1.0.1', ready: false }])], /no ready endpoint/],
  ])('keeps the structure but has no servers with %s', (_what, svc, slices, warning) => {
    const desired = desiredHaproxy(ingress({ service: svc, slices }), DEFAULT_HAPROXY_POLICY);
    expect(desired.frontends).toHaveLength(2);
    expect(desired.backends.every((b) => b.endpoints.length === 0)).toBe(true);
    expect(desired.warnings.join('\n')).toMatch(warning);
  });

  it('falls back to the ClusterIP when asked and nothing is ready', () => {
    const desired = desiredHaproxy(ingress({ service: service(), slices: [] }), { ...DEFAULT_HAPROXY_POLICY, clusterIpFallback: true });
    expect(desired.backends[0]?.endpoints).toEqual([{ address: '10.96.0.10', port: 80 }]);
  });

  it('never falls back to a headless Service', () => {
    const desired = desiredHaproxy(ingress({ service: service({}, 'None'), slices: [] }), { ...DEFAULT_HAPROXY_POLICY, clusterIpFallback: true });
    expect(desired.backends[0]?.endpoints).toEqual([]);
  });
});
