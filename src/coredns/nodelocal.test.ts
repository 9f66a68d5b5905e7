import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { removeHairpinRules } from './corefile.js';
import { renderNodeLocalCorefile } from './nodelocal.js';

/** The kubernetes/dns addon's nodelocaldns ConfigMap as installed: the installer substituted the
 * local address, the kube-dns IP and the domain; node-cache substitutes the two pillars left. */
const INSTALLED = readFileSync(new URL('./fixtures/node-local-dns.Corefile', import.meta.url), 'utf8');
/** The same after the addon's own template, literal addresses instead (a hand-written install). */
const LITERAL = INSTALLED.replaceAll('__PILLAR__CLUSTER__DNS__', '10.96.0.10').replace('__PILLAR__UPSTREAM__SERVERS__', '/etc/resolv.conf');

describe('renderNodeLocalCorefile', () => {
  it('adds one server block for the hosts, first, forwarding them to the cluster DNS as the cluster.local block does', () => {
    const { corefile, skipped } = renderNodeLocalCorefile(INSTALLED, ['shop.example.com', '*.apps.example.com', 'a.shop.example.com'], 'cluster.local');
    expect(skipped).toEqual([]);
    expect(corefile).toBe(
      [
        '# BEGIN hairpin-proxy: managed by hairpin-proxy, edits here are overwritten',
        'apps.example.com:53 shop.example.com:53 {',
        '    errors',
        '    cache 30',
        '    bind 169.254.20.10 10.96.0.10',
        '    forward . __PILLAR__CLUSTER__DNS__ {',
        '        force_tcp',
        '    }',
        '}',
        '# END hairpin-proxy',
        '',
      ].join('\n') + INSTALLED,
    );
  });

  it('copies a literal cluster DNS address as well as the pillar', () => {
    expect(renderNodeLocalCorefile(LITERAL, ['shop.example.com'], 'cluster.local').corefile).toContain('    forward . 10.96.0.10 {\n');
  });

  it('skips a host whose zone node-local-dns already serves, and replaces its own block rather than adding one', () => {
    const once = renderNodeLocalCorefile(`example.org:53 {\n    forward . 1.1.1.1\n}\n${INSTALLED}`, ['example.org', 'shop.example.com'], 'cluster.local');
    expect(once.skipped).toEqual([{ host: 'example.org', reason: expect.stringMatching(/already has a server block/) }]);
    expect(renderNodeLocalCorefile(once.corefile, ['shop.example.com'], 'cluster.local').corefile).toBe(once.corefile);
  });

  it('with no hosts is the Corefile without our block', () => {
    const rendered = renderNodeLocalCorefile(INSTALLED, ['shop.example.com'], 'cluster.local').corefile;
    expect(renderNodeLocalCorefile(rendered, [], 'cluster.local').corefile).toBe(INSTALLED);
  });

  it('refuses a Corefile without a cluster-domain block to copy from', () => {
    expect(() => renderNodeLocalCorefile('.:53 {\n    forward . 8.8.8.8\n}\n', ['shop.example.com'], 'cluster.local')).toThrow(/no server block for the cluster domain/);
  });

  it('is undone by removal, byte for byte, whatever the hosts', () => {
    const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,6}[a-z0-9])?$/);
    const host = fc.tuple(fc.boolean(), label, fc.constantFrom('example.com', 'example.org')).map(([wild, first, parent]) => `${wild ? '*' : first}.${parent}`);
    fc.assert(
      fc.property(fc.constantFrom(INSTALLED, LITERAL), fc.array(host, { maxLength: 20 }), (corefile, hosts) => {
        const rendered = renderNodeLocalCorefile(corefile, hosts, 'cluster.local').corefile;
        expect(removeHairpinRules(rendered)).toBe(corefile);
        expect(renderNodeLocalCorefile(rendered, hosts, 'cluster.local').corefile).toBe(rendered);
      }),
    );
  });
});
