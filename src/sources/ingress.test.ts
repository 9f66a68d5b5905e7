import { describe, expect, it } from '@jest/globals';
import { anIngress, anIngressClass } from '../testing/builders.js';
import { ingressClassOf, ingressHosts, selectsIngress } from './ingress.js';

describe('ingressHosts', () => {
  it('reads rule hosts and TLS hosts, once each', () => {
    const ingress = anIngress('shop', { hosts: ['a.example.com', 'b.example.com'], tlsHosts: ['b.example.com', 'c.example.com'] });
    expect(ingressHosts(ingress)).toEqual(['a.example.com', 'b.example.com', 'c.example.com']);
  });

  it('ignores rules without a host (catch-all rules)', () => {
    const ingress = { spec: { rules: [{}, { host: '' }, { host: 'a.example.com' }], tls: [{}] } };
    expect(ingressHosts(ingress)).toEqual(['a.example.com']);
  });

  it('is empty for an Ingress without spec', () => {
    expect(ingressHosts({})).toEqual([]);
  });
});

describe('ingress class selection', () => {
  const nginxDefault = anIngressClass('nginx', { isDefault: true });
  const traefik = anIngressClass('traefik');

  const cases: ReadonlyArray<{ name: string; ingress: ReturnType<typeof anIngress>; classes: ReturnType<typeof anIngressClass>[]; expected: string | undefined }> = [
    { name: 'spec.ingressClassName wins', ingress: anIngress('a', { className: 'traefik', legacyClass: 'nginx' }), classes: [nginxDefault], expected: 'traefik' },
    { name: 'legacy annotation when the spec names none', ingress: anIngress('a', { legacyClass: 'traefik' }), classes: [nginxDefault], expected: 'traefik' },
    { name: 'the default IngressClass when neither is set', ingress: anIngress('a'), classes: [nginxDefault, traefik], expected: 'nginx' },
    { name: 'no class when there is no default', ingress: anIngress('a'), classes: [traefik], expected: undefined },
    { name: 'no class when two classes claim the default', ingress: anIngress('a'), classes: [nginxDefault, anIngressClass('other', { isDefault: true })], expected: undefined },
  ];

  it.each(cases)('$name', ({ ingress, classes, expected }) => {
    expect(ingressClassOf(ingress, classes)).toBe(expected);
  });

  it('selects everything when no class filter is configured', () => {
    expect(selectsIngress([], anIngress('a'), [])).toBe(true);
  });

  it('selects only listed classes when a filter is configured', () => {
    expect(selectsIngress(['nginx'], anIngress('a', { className: 'nginx' }), [])).toBe(true);
    expect(selectsIngress(['nginx'], anIngress('a', { className: 'traefik' }), [])).toBe(false);
    expect(selectsIngress(['nginx'], anIngress('a'), [nginxDefault])).toBe(true);
    expect(selectsIngress(['nginx'], anIngress('a'), [])).toBe(false);
  });
});
