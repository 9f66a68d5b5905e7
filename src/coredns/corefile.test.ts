import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { BEGIN_MARKER, CorefileError, END_MARKER, removeHairpinRules, renderCorefile, type Route } from './corefile.js';
import { tokenize } from './lexer.js';

const TARGET = 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local';
const route = (host: string, target = TARGET): Route => ({ host, target });
const ROUTES = ['x.apps.example.net', 'b.example.com', 'shop.example.org', '*.apps.example.net', 'a.example.com'].map((host) => route(host));

/** Our block for ROUTES, indented, each line ending in eol, as it must appear in the Corefile. */
const block = (indent: string, eol = '\n'): string =>
  [
    BEGIN_MARKER,
    String.raw`rewrite stop name regex ^(?:(?:a|b)\.example\.com|shop\.example\.org)\.$ hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local. answer auto`,
    String.raw`rewrite stop name regex ^[^.]+\.apps\.example\.net\.$ hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local. answer auto`,
    END_MARKER,
  ]
    .map((line) => indent + line + eol)
    .join('');

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}.Corefile`, import.meta.url), 'utf8');
const FIXTURE_NAMES = readdirSync(new URL('./fixtures/', import.meta.url)).map((file) => file.replace(/\.Corefile$/, ''));

/** Every good Corefile, with the number of root blocks on port 53 it has. */
const GOOD: ReadonlyArray<readonly [name: string, corefile: string, roots: number]> = [
  ...FIXTURE_NAMES.map((name) => [name, fixture(name), name === 'multiple-roots' ? 2 : 1] as const),
  ['kubeadm with CRLF line endings', fixture('kubeadm').replaceAll('\n', '\r\n'), 1],
  ['eks without a trailing newline', fixture('eks').replace(/\n$/, ''), 1],
  ['k3s with a byte order mark', `\uFEFF${fixture('k3s')}`, 1],
];
/** Fixtures that already hold lines of ours, old or new. */
const OWNED = new Set(['legacy', 'existing-block']);

/** The Corefile with our marker blocks cut out: written independently of the code under test. */
function withoutOurBlocks(corefile: string): string {
  const lines = corefile.split(/(?<=\n)/);
  const kept: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (line.trim() === BEGIN_MARKER) inside = true;
    if (!inside) kept.push(line);
    if (line.trim() === END_MARKER) inside = false;
  }
  return kept.join('');
}

describe('renderCorefile: exact output', () => {
  it('kubeadm: puts one sorted, grouped block right after the root block opener, indented like its directives', () => {
    expect(renderCorefile(fixture('kubeadm'), ROUTES)).toBe(String.raw`.:53 {
    # BEGIN hairpin-proxy: managed by hairpin-proxy, edits here are overwritten
    rewrite stop name regex ^(?:(?:a|b)\.example\.com|shop\.example\.org)\.$ hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local. answer auto
    rewrite stop name regex ^[^.]+\.apps\.example\.net\.$ hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local. answer auto
    # END hairpin-proxy
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`);
  });

  it('k3s: leaves both imports where they are', () => {
    expect(renderCorefile(fixture('k3s'), [route('shop.example.org')])).toBe(`.:53 {
    # BEGIN hairpin-proxy: managed by hairpin-proxy, edits here are overwritten
    rewrite stop name exact shop.example.org hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local. answer auto
    # END hairpin-proxy
    errors
    health
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    hosts /etc/coredns/NodeHosts {
      ttl 60
      reload 15s
      fallthrough
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
    import /etc/coredns/custom/*.override
}
import /etc/coredns/custom/*.server
`);
  });

  it('stub zones before and after the root block are not touched', () => {
    expect(renderCorefile(fixture('stub-zones'), ROUTES)).toBe(`consul:53 {
    errors
    cache 30
    forward . 10.0.0.1
}

.:53 {
${block('    ')}    errors
    health
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}

corp.example.com:53 {
    forward . 10.1.0.53
}
`);
  });

  it.each([
    ['tabs', '\t'],
    ['dot-only', '  '],
    ['dns-scheme', '    '],
    ['brace-on-next-line', '    '],
  ])('%s: the block sits after the opener line, indented with %j', (name, indent) => {
    const corefile = fixture(name);
    const opener = corefile.indexOf('{\n') + 2;
    expect(renderCorefile(corefile, ROUTES)).toBe(corefile.slice(0, opener) + block(indent) + corefile.slice(opener));
  });

  it('CRLF: our lines end in CRLF too', () => {
    const crlf = fixture('kubeadm').replaceAll('\n', '\r\n');
    expect(renderCorefile(crlf, ROUTES)).toBe(`.:53 {\r\n${block('    ', '\r\n')}${crlf.slice('.:53 {\r\n'.length)}`);
  });

  it('a missing trailing newline stays missing', () => {
    const eks = fixture('eks').replace(/\n$/, '');
    const rendered = renderCorefile(eks, ROUTES);
    expect(rendered).toBe(`.:53 {\n${block('    ')}${eks.slice('.:53 {\n'.length)}`);
    expect(rendered.endsWith('}')).toBe(true);
  });

  it('several root blocks on port 53 each get the block; one on another port does not', () => {
    expect(renderCorefile(fixture('multiple-roots'), ROUTES)).toBe(`.:53 example.internal {
${block('    ')}    bind 10.96.0.10
    errors
    forward . /etc/resolv.conf
}

.:5353 {
    bind 127.0.0.1
    whoami
}

. {
${block('    ')}    bind 127.0.0.1
    errors
    forward . 1.1.1.1
}
`);
  });

  it('braces, quotes and # inside comments and strings do not move the block', () => {
    const corefile = fixture('comments-with-braces');
    const opener = '.:53 { # the root server block\n';
    expect(renderCorefile(corefile, ROUTES)).toBe(corefile.replace(opener, opener + block('    ')));
  });

  it('migration: removes every line of the original hairpin-proxy, wherever it is', () => {
    expect(renderCorefile(fixture('legacy'), [route('shop.example.org')])).toBe(`.:53 {
    # BEGIN hairpin-proxy: managed by hairpin-proxy, edits here are overwritten
    rewrite stop name exact shop.example.org hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local. answer auto
    # END hairpin-proxy
    errors
    health {
       lameduck 5s
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
`);
  });

  it('replaces an existing block of ours in place', () => {
    expect(renderCorefile(fixture('existing-block'), ROUTES)).toBe(`.:53 {
${block('    ')}    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa
    forward . /etc/resolv.conf
    cache 30
}
`);
  });

  it('moves a block of ours that a person moved back to the top of the root block', () => {
    const moved = fixture('dns-scheme').replace('    cache 30\n', `    cache 30\n${block('    ')}`);
    expect(renderCorefile(moved, ROUTES)).toBe(renderCorefile(fixture('dns-scheme'), ROUTES));
  });

  it('indents the block of an empty root block one step deeper than its opener', () => {
    expect(renderCorefile('consul {\n  forward . 10.0.0.1\n}\n  . {\n  }\n', ROUTES)).toBe(
      `consul {\n  forward . 10.0.0.1\n}\n  . {\n${block('      ')}  }\n`,
    );
  });

  it('with no routes writes no block at all, and removes ours', () => {
    expect(renderCorefile(fixture('existing-block'), [])).toBe(`.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa
    forward . /etc/resolv.conf
    cache 30
}
`);
    expect(removeHairpinRules(fixture('kubeadm'))).toBe(fixture('kubeadm'));
  });

  it('refuses a host that could inject text into the Corefile, before touching anything', () => {
    expect(() => renderCorefile(fixture('kubeadm'), [route('a.example.com }\n. {')])).toThrow(/invalid host/);
  });
});

describe.each(GOOD)('renderCorefile on %s', (name, corefile, roots) => {
  const rendered = renderCorefile(corefile, ROUTES);
  const clean = removeHairpinRules(corefile);

  it(`writes ${roots} block(s), each directly after a root block opener`, () => {
    const lines = rendered.split('\n');
    const begins = lines.flatMap((line, i) => (line.trim() === BEGIN_MARKER ? [i] : []));
    expect(begins).toHaveLength(roots);
    for (const i of begins) expect(lines[i - 1]).toMatch(/\{\s*(#.*)?$/);
  });

  it('is idempotent', () => {
    expect(renderCorefile(rendered, ROUTES)).toBe(rendered);
  });

  it('changes nothing outside our block', () => {
    expect(withoutOurBlocks(rendered)).toBe(clean);
  });

  it('restores the input exactly when the routes are removed', () => {
    expect(removeHairpinRules(rendered)).toBe(clean);
    if (!OWNED.has(name)) expect(clean).toBe(corefile);
  });

  it('replaces the block in place when the routes change', () => {
    const other = [route('other.example.com')];
    expect(renderCorefile(rendered, other)).toBe(renderCorefile(corefile, other));
  });

  it('writes rule lines that CoreDNS reads as exactly their words', () => {
    const ruleLines = rendered.split(/\r?\n/).filter((line) => line.trim().startsWith('rewrite stop name '));
    expect(ruleLines).toHaveLength(2 * roots);
    for (const line of ruleLines) {
      expect(tokenize(line).map((token) => token.text)).toEqual(line.trim().split(' '));
    }
  });
});

describe('renderCorefile refuses a Corefile it must not edit', () => {
  const kubeadm = fixture('kubeadm');
  it.each([
    ['an extra }', `${kubeadm}}\n`, /unbalanced '\}'/, 21],
    ['an unclosed {', kubeadm.replace('    }\n    ready', '    ready'), /unclosed '\{'/, 1],
    ['an unclosed nested {', kubeadm.replace('       max_concurrent 1000\n    }\n', '       max_concurrent 1000\n'), /unclosed '\{'/, 1],
    ['only a stub zone', 'consul:53 {\n    forward . 10.0.0.1\n}\n', /no root server block \('\.', '\.:53' or 'dns:\/\/\.:53'\)/, undefined],
    ['a root block on another port only', '.:5353 {\n    whoami\n}\n', /no root server block/, undefined],
    ['an empty Corefile', '', /no root server block/, undefined],
    ['a snippet only, which is not a server block', '(common) {\n    errors\n}\n', /no root server block/, undefined],
    ['a BEGIN marker without END', kubeadm.replace('    errors\n', `    ${BEGIN_MARKER}\n    errors\n`), /line 2: '# BEGIN hairpin-proxy' marker without an END/, 2],
    ['an END marker without BEGIN', kubeadm.replace('    errors\n', `    errors\n    ${END_MARKER}\n`), /'# END hairpin-proxy' marker without a BEGIN/, 3],
    ['nested BEGIN markers', kubeadm.replace('    errors\n', `    ${BEGIN_MARKER}\n    ${BEGIN_MARKER}\n    ${END_MARKER}\n`), /nested .* line 2 has no END/, 3],
    ['a one-line root block', '. { errors }\n', /line 1: the root server block has 'errors' on the same line as its '\{'/, 1],
    ['a root block opener followed by a directive', '.:53 { errors\n    cache 30\n}\n', /same line as its '\{'/, 1],
    ['a brace glued to the server key', '.:53{\n    errors\n}\n', /'\.:53\{' needs a space before '\{'/, 1],
    ['a server block without braces', '.:53\nerrors\n', /line 1: expected '\{' after the server address '\.:53'/, 1],
    ['a { without a server address', '{\n    errors\n}\n', /'\{' without a server address/, 1],
    ['a server block closed at the end of a directive line', '.:53 {\n    errors }\n', /line 2: the '\}' that closes the server block shares its line/, 2],
    ['a quoted brace, which CoreDNS takes for a brace', '.:53 {\n    whoami "}"\n}\n', /line 2: the '\}' that closes the server block shares its line/, 2],
  ])('%s', (_name, corefile, message, line) => {
    const attempt = () => renderCorefile(corefile, ROUTES);
    expect(attempt).toThrow(CorefileError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(expect.objectContaining({ kind: 'Invalid', line }));
    expect(() => removeHairpinRules(corefile)).toThrow(CorefileError);
  });

  it.each([
    ['a one-line nested block', '. {\n    forward . 1.1.1.1 { max_concurrent 1000 }\n}\n'],
    ['a one-line snippet', '(common) { errors }\n. {\n    import common\n}\n'],
    ['a one-line block that is not the root', 'consul { forward . 10.0.0.1\n}\n. {\n    errors\n}\n'],
  ])('accepts what CoreDNS accepts: %s', (_name, corefile) => {
    expect(removeHairpinRules(renderCorefile(corefile, ROUTES))).toBe(corefile);
  });

  it('says where, in the words of the issue', () => {
    expect(() => renderCorefile(`${kubeadm}}\n`, [])).toThrow("Corefile line 21: unbalanced '}'");
    expect(() => renderCorefile('consul {\n}\n', [])).toThrow("Corefile has no root server block ('.', '.:53' or 'dns://.:53')");
  });
});
