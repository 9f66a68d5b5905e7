import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { aService } from '../testing/builders.js';
import { upstreamRefs, hairpinServiceName, MAX_TARGET_PORTS, PROXY_PROTOCOL_ANNOTATION, reportsIpModeProxy, resolveUpstreams, TARGET_PORT_BASE, type UpstreamMode, type UpstreamRule } from './upstreams.js';

const hairpin = { namespace: 'hairpin-proxy', service: 'hairpin-proxy-haproxy', clusterDomain: 'cluster.local', ports: [80, 443] };
const rule = (ref: string, proxyProtocol?: 'v1' | 'v2'): UpstreamRule => {
  const [namespace = '', name = ''] = ref.split('/');
  return { keys: [{ kind: 'class', name }], upstream: { namespace, name }, proxyProtocol };
};
const targets = (...rules: UpstreamRule[]): UpstreamMode => ({ kind: 'targets', rules });

describe('resolveUpstreams', () => {
  it('without --target: the ingress controller behind the hairpin Service itself, on the same ports, as before', () => {
    const [only, ...rest] = resolveUpstreams({ kind: 'single', upstream: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' }, proxyProtocol: 'v2' }, [], hairpin);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({
      key: 'ingress-nginx/ingress-nginx-controller',
      proxyProtocol: 'v2',
      haproxyName: 'ingress',
      hairpinService: 'hairpin-proxy-haproxy',
      target: 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local',
      ports: [
        { port: 80, listenPort: 80 },
        { port: 443, listenPort: 443 },
      ],
    });
  });

  it.each([
    ['the :vN of --target wins over the annotation', 'v2', 'v1', 'v2', 'flag', 0],
    ['the annotation wins over the default', undefined, 'v2', 'v2', 'annotation', 0],
    ['the default is v1', undefined, undefined, 'v1', 'default', 0],
    ['an annotation that is not v1 or v2 is ignored, with a warning', undefined, 'v3', 'v1', 'default', 1],
  ] as const)('%s', (_name, flag, annotation, version, source, warnings) => {
    const annotations: Record<string, string> = annotation ? { [PROXY_PROTOCOL_ANNOTATION]: annotation } : {};
    const [upstream] = resolveUpstreams(targets(rule('envoy/gw', flag)), [aService('envoy/gw', { annotations })], hairpin);
    expect([upstream?.proxyProtocol, upstream?.proxySource]).toEqual([version, source]);
    expect(upstream?.warnings).toHaveLength(warnings);
  });

  it('gives every upstream its own hairpin Service and its own block of frontend ports', () => {
    const upstreams = resolveUpstreams(targets(rule('ingress-nginx/controller'), rule('envoy/gw')), [], hairpin);
    expect(upstreams.map((u) => u.key)).toEqual(['envoy/gw', 'ingress-nginx/controller']);
    expect(new Set(upstreams.map((u) => u.hairpinService)).size).toBe(2);
    for (const upstream of upstreams) {
      const [first] = upstream.ports;
      expect(upstream.ports.map((p) => p.port)).toEqual([80, 443]);
      expect(upstream.ports.map((p) => p.listenPort)).toEqual([first?.listenPort, (first?.listenPort ?? 0) + 1]);
      expect(((first?.listenPort ?? 0) - TARGET_PORT_BASE) % MAX_TARGET_PORTS).toBe(0);
    }
  });

  it('never gives two upstreams the same frontend port, and moves nobody when another is added (without collisions)', () => {
    const ref = fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[a-z]{1,8}$/)).map(([ns, name]) => `${ns}/${name}`);
    fc.assert(
      fc.property(fc.uniqueArray(ref, { minLength: 1, maxLength: 30 }), (refs) => {
        const all = resolveUpstreams(targets(...refs.map((r) => rule(r))), [], hairpin);
        const ports = all.flatMap((u) => u.ports.map((p) => p.listenPort));
        expect(new Set(ports).size).toBe(ports.length);
        expect(new Set(all.map((u) => u.hairpinService)).size).toBe(all.length);
      }),
    );
    const before = resolveUpstreams(targets(rule('a/one'), rule('b/two')), [], hairpin);
    const after = resolveUpstreams(targets(rule('a/one'), rule('b/two'), rule('c/three')), [], hairpin);
    expect(after.filter((u) => u.key !== 'c/three').map((u) => u.ports)).toEqual(before.map((u) => u.ports));
  });
});

describe('hairpinServiceName', () => {
  it('is a DNS label naming the upstream, told apart by a hash', () => {
    expect(hairpinServiceName('hairpin-proxy-haproxy', { namespace: 'envoy', name: 'gw' })).toMatch(/^hairpin-proxy-haproxy-gw-[0-9a-f]{6}$/);
    expect(hairpinServiceName('hairpin-proxy-haproxy', { namespace: 'a', name: 'gw' })).not.toBe(hairpinServiceName('hairpin-proxy-haproxy', { namespace: 'b', name: 'gw' }));
  });

  it('stays a DNS label, and keeps the hash, whatever the lengths', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, label, label, (service, namespace, name) => {
        const named = hairpinServiceName(service, { namespace, name });
        expect(named).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
        expect(named).toMatch(/-[0-9a-f]{6}$/);
      }),
    );
  });
});

describe('reportsIpModeProxy', () => {
  it.each([
    ['no load balancer status', [], false],
    ['ipMode VIP (the default)', ['VIP'], false],
    ['ipMode Proxy', ['Proxy'], true],
    ['Proxy on every address', ['Proxy', 'Proxy'], true],
    ['Proxy on some addresses only', ['Proxy', 'VIP'], false],
  ] as const)('%s: %s', (_name, ipModes, expected) => {
    expect(reportsIpModeProxy(aService('ns/svc', { ipModes: [...ipModes] }))).toBe(expected);
  });
});

describe('upstreamRefs', () => {
  it('names the one upstream, or every --target upstream in flag order', () => {
    expect(upstreamRefs({ kind: 'single', upstream: { namespace: 'ingress-nginx', name: 'c' }, proxyProtocol: 'v1' })).toEqual([{ namespace: 'ingress-nginx', name: 'c' }]);
    expect(upstreamRefs(targets(rule('b/two'), rule('a/one')))).toEqual([{ namespace: 'b', name: 'two' }, { namespace: 'a', name: 'one' }]);
  });
});
