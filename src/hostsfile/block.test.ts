import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { blockOffset, HOSTS_BEGIN, HOSTS_END, HostsEntryError, HostsFileError, removeHostsBlock, renderHostsFile, type HostsEntry } from './block.js';

const USER = '127.0.0.1 localhost\n::1 localhost ip6-localhost\n# the node\n10.0.0.5 node-1\n';
const ONE: HostsEntry[] = [{ host: 'shop.example.com', addresses: ['10.96.0.20'] }];
const BLOCK = `${HOSTS_BEGIN}\n10.96.0.20 shop.example.com\n${HOSTS_END}`;

describe('renderHostsFile', () => {
  it.each([
    ['an empty file', '', ONE, `${BLOCK}\n`],
    ['a file ending with a newline', USER, ONE, `${USER}${BLOCK}\n`],
    ['a file without a final newline: our \\n before the block, none after it', '127.0.0.1 localhost', ONE, `127.0.0.1 localhost\n${BLOCK}`],
    ['a file of only a newline', '\n', ONE, `\n${BLOCK}\n`],
    ['a CRLF file: its lines kept, ours written with \\n', '127.0.0.1 localhost\r\n', ONE, `127.0.0.1 localhost\r\n${BLOCK}\n`],
    ['a CRLF file without a final newline', '127.0.0.1 localhost\r\n::1 localhost', ONE, `127.0.0.1 localhost\r\n::1 localhost\n${BLOCK}`],
    ['a file whose last line ends with a lone CR', '127.0.0.1 localhost\r', ONE, `127.0.0.1 localhost\r\n${BLOCK}`],
    ['non-ASCII user lines', '# Knoten für Ümlaut 🚀\n10.0.0.5 node-1\n', ONE, `# Knoten für Ümlaut 🚀\n10.0.0.5 node-1\n${BLOCK}\n`],
    ['an existing block: replaced', `${USER}${HOSTS_BEGIN}\n10.96.0.99 old.example.com\n${HOSTS_END}\n`, ONE, `${USER}${BLOCK}\n`],
    ['an existing block in the middle: moved last, the lines after it move up', `127.0.0.1 localhost\n${BLOCK}\n10.0.0.5 node-1\n`, ONE, `127.0.0.1 localhost\n10.0.0.5 node-1\n${BLOCK}\n`],
    [
      'several blocks (a crash): all removed, one written last',
      `${BLOCK}\n127.0.0.1 localhost\n${HOSTS_BEGIN}\n${HOSTS_END}\n::1 localhost\n${BLOCK}`,
      ONE,
      // The last block ended the file without a newline: the '\n' before it was ours.
      `127.0.0.1 localhost\n::1 localhost\n${BLOCK}`,
    ],
    ['marker lines with blanks, trailing spaces and CRLF: recognised', `${USER}  ${HOSTS_BEGIN}  \r\n10.96.0.99 old.example.com\r\n\t${HOSTS_END} \r\n`, ONE, `${USER}${BLOCK}\n`],
    ['a marker of another wording: recognised', `${USER}# BEGIN hairpin-proxy (v1)\n10.96.0.99 old.example.com\n# END hairpin-proxy\n`, ONE, `${USER}${BLOCK}\n`],
    ['a comment that only looks like ours: a user line', '# BEGIN hairpin-proxy-notes\n', ONE, `# BEGIN hairpin-proxy-notes\n${BLOCK}\n`],
    ['no entries: no block', USER, [], USER],
    ['no entries: the block removed', `${USER}${BLOCK}\n`, [], USER],
    ['no entries: the block and our separator removed', `127.0.0.1 localhost\n${BLOCK}`, [], '127.0.0.1 localhost'],
    ['no entries, empty file', '', [], ''],
    [
      'entries sorted by host, one line per address and host, IPv6 included, duplicates once',
      USER,
      [
        { host: 'b.example.com', addresses: ['10.96.0.2', 'fd00:10:96::2', '10.96.0.2'] },
        { host: 'a.example.com', addresses: ['10.96.0.1'] },
        { host: 'c.example.org', addresses: ['::ffff:10.96.0.3'] },
        { host: 'a.example.com', addresses: ['10.96.0.1'] },
      ],
      `${USER}${HOSTS_BEGIN}\n10.96.0.1 a.example.com\n10.96.0.2 b.example.com\nfd00:10:96::2 b.example.com\n::ffff:10.96.0.3 c.example.org\n${HOSTS_END}\n`,
    ],
  ])('%s', (_name, current, entries, expected) => {
    const rendered = renderHostsFile(current, entries);
    expect(rendered).toBe(expected);
    expect(renderHostsFile(rendered, entries)).toBe(rendered);
    expect(rendered.slice(0, blockOffset(current))).toBe(current.slice(0, blockOffset(current)));
  });

  it.each([
    ['a wildcard', '*.example.com', ['10.96.0.1'], /wildcard/],
    ['an upper-case host', 'Shop.example.com', ['10.96.0.1'], /lower-case/],
    ['a trailing dot', 'shop.example.com.', ['10.96.0.1'], /label ""/],
    ['a single label', 'localhost', ['10.96.0.1'], /one label/],
    ['an IP address as host', '10.96.0.1.2', ['10.96.0.1'], /IP address/],
    ['a space in the host', 'a b.example.com', ['10.96.0.1'], /label/],
    ['a label of 64 characters', `${'a'.repeat(64)}.example.com`, ['10.96.0.1'], /label/],
    ['an IPv4 octet over 255', 'a.example.com', ['10.96.0.256'], /not an IPv4 or IPv6/],
    ['an IPv4 octet with a leading zero', 'a.example.com', ['10.96.0.010'], /not an IPv4 or IPv6/],
    ['three IPv4 octets', 'a.example.com', ['10.96.1'], /not an IPv4 or IPv6/],
    ['two ::', 'a.example.com', ['fd00::1::2'], /not an IPv4 or IPv6/],
    ['nine IPv6 groups', 'a.example.com', ['1:2:3:4:5:6:7:8:9'], /not an IPv4 or IPv6/],
    ['seven IPv6 groups without ::', 'a.example.com', ['1:2:3:4:5:6:7'], /not an IPv4 or IPv6/],
    ['an IPv6 zone', 'a.example.com', ['fe80::1%eth0'], /not an IPv4 or IPv6/],
    ['a host name as address', 'a.example.com', ['example.com'], /not an IPv4 or IPv6/],
    ['an empty address', 'a.example.com', [''], /not an IPv4 or IPv6/],
  ])('throws HostsEntryError for %s', (_name, host, addresses, message) => {
    expect(() => renderHostsFile(USER, [{ host, addresses }])).toThrow(HostsEntryError);
    expect(() => renderHostsFile(USER, [{ host, addresses }])).toThrow(message);
  });

  it('throws HostsEntryError for one host given two address lists', () => {
    const entries = [
      { host: 'a.example.com', addresses: ['10.96.0.1'] },
      { host: 'a.example.com', addresses: ['10.96.0.2'] },
    ];
    expect(() => renderHostsFile(USER, entries)).toThrow(/given twice/);
  });

  it.each(['::', '::1', 'fd00::', '1:2:3:4:5:6:7:8', '1::8', '1:2:3:4:5:6::8', '::ffff:192.0.2.1', '64:ff9b::192.0.2.33', 'FD00::A'])('accepts the IPv6 address %s', (address) => {
    expect(renderHostsFile('', [{ host: 'a.example.com', addresses: [address] }])).toContain(`\n${address} a.example.com\n`);
  });

  it.each([
    ['a BEGIN without an END', `${USER}${HOSTS_BEGIN}\n10.96.0.1 a.example.com\n`, 5, /without an END/],
    ['an END without a BEGIN', `${USER}${HOSTS_END}\n`, 5, /without a BEGIN/],
    ['a BEGIN inside a block', `${HOSTS_BEGIN}\n${HOSTS_BEGIN}\n${HOSTS_END}\n`, 2, /inside a block/],
  ])('throws HostsFileError (kind Invalid) for %s, so that no user line is lost', (_name, current, line, message) => {
    for (const edit of [() => renderHostsFile(current, ONE), () => renderHostsFile(current, []), () => removeHostsBlock(current), () => blockOffset(current)]) {
      expect(edit).toThrow(message);
      try {
        edit();
      } catch (error) {
        expect(error).toBeInstanceOf(HostsFileError);
        expect(error).toMatchObject({ kind: 'Invalid', line });
      }
    }
  });
});

describe('blockOffset', () => {
  it.each([
    ['an empty file', '', 0],
    ['no block: the end, where it would be appended', USER, USER.length],
    ['no block, no final newline: the end, where our \\n would go', '127.0.0.1 localhost', 19],
    ['a block: its BEGIN line', `${USER}${BLOCK}\n`, USER.length],
    ['a block after our separator: the separator', `127.0.0.1 localhost\n${BLOCK}`, 19],
    ['a block in the middle: its BEGIN line', `127.0.0.1 localhost\n${BLOCK}\n::1 localhost\n`, 20],
    ['two blocks, adjacent, the last after our separator', `a.b\n${BLOCK}\n${BLOCK}`, 3],
  ])('%s', (_name, current, offset) => {
    expect(blockOffset(current)).toBe(offset);
  });
});

// Lines that collide with everything the parser looks at: CR, blanks, '#', non-ASCII, and text
// that nearly is a marker. Our own markers are left out: these are files we never touched.
const userLine = fc.oneof(
  fc.constantFrom('127.0.0.1 localhost', '::1 localhost', '# comment', '', ' ', '\t', '\r', '#', '# BEGIN hairpin', '# BEGIN hairpin-proxy-x', '# END hairpin-proxyz', 'é 🚀', '10.0.0.1 a.example.com'),
  fc.string({ unit: fc.constantFrom('a', ' ', '\t', '\r', '#', '.', '1', 'ü', '🚀'), maxLength: 20 }),
);
const userFile = fc.array(userLine, { maxLength: 12 }).chain((lines) =>
  fc.boolean().map((finalNewline) => lines.join('\n') + (finalNewline && lines.length > 0 ? '\n' : '')),
);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,3}[a-z0-9])?$/);
const host = fc.tuple(label, fc.constantFrom('example.com', 'example.org', 'a-b.example.net')).map(([first, parent]) => `${first}.${parent}`);
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const entries = fc.uniqueArray(fc.record({ host, addresses: fc.array(fc.oneof(ipv4, ipv6), { minLength: 1, maxLength: 3 }) }), {
  selector: (entry) => entry.host,
  maxLength: 30,
});
/** A file we may have written before, perhaps edited since: user lines with blocks of ours among them. */
const touchedFile = fc
  .tuple(fc.array(fc.oneof(userLine, fc.constant(BLOCK), fc.constant(`  ${HOSTS_BEGIN} \r\n10.96.0.1 x.example.com\r\n${HOSTS_END}\r`)), { maxLength: 12 }), fc.boolean())
  .map(([lines, finalNewline]) => lines.join('\n') + (finalNewline && lines.length > 0 ? '\n' : ''));

/** Our blocks removed without the code under test: every line from a BEGIN to its END. */
function userLinesOf(text: string): string[] {
  let inside = false;
  return text.split('\n').filter((line) => {
    if (line.trim().startsWith('# BEGIN hairpin-proxy:') || line.trim() === '# BEGIN hairpin-proxy') inside = true;
    const keep = !inside;
    if (line.trim() === HOSTS_END) inside = false;
    return keep;
  });
}

describe('renderHostsFile (properties)', () => {
  it('restores any file without our markers exactly: removal undoes render', () => {
    fc.assert(
      fc.property(userFile, entries, (input, es) => {
        expect(removeHostsBlock(input)).toBe(input);
        expect(removeHostsBlock(renderHostsFile(input, es))).toBe(input);
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent, and removal undoes it on files we touched before', () => {
    fc.assert(
      fc.property(touchedFile, entries, entries, (input, es, others) => {
        const rendered = renderHostsFile(input, es);
        expect(renderHostsFile(rendered, es)).toBe(rendered);
        expect(renderHostsFile(renderHostsFile(input, others), es)).toBe(rendered);
        expect(removeHostsBlock(rendered)).toBe(removeHostsBlock(input));
        expect(renderHostsFile(input, [])).toBe(removeHostsBlock(input));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps every line outside the block, in order', () => {
    fc.assert(
      fc.property(touchedFile, entries, (input, es) => {
        const rendered = renderHostsFile(input, es);
        const kept = userLinesOf(removeHostsBlock(input));
        expect(userLinesOf(rendered).slice(0, kept.length)).toEqual(kept);
      }),
    );
  });

  it('writes one block, last, with one line per address and host', () => {
    fc.assert(
      fc.property(touchedFile, entries.filter((es) => es.length > 0), (input, es) => {
        const rendered = renderHostsFile(input, es);
        const lines = rendered.split('\n');
        if (lines[lines.length - 1] === '') lines.pop();
        const begin = lines.indexOf(HOSTS_BEGIN);
        expect(lines.lastIndexOf(HOSTS_BEGIN)).toBe(begin);
        expect(lines[lines.length - 1]).toBe(HOSTS_END);
        const expected = [...es].sort((a, b) => (a.host < b.host ? -1 : 1)).flatMap((e) => [...new Set(e.addresses)].map((address) => `${address} ${e.host}`));
        expect(lines.slice(begin + 1, -1)).toEqual(expected);
      }),
    );
  });

  it('never changes what is before the block offset, so the writer never rewrites it', () => {
    fc.assert(
      fc.property(touchedFile, entries, (input, es) => {
        const offset = blockOffset(input);
        expect(renderHostsFile(input, es).slice(0, offset)).toBe(input.slice(0, offset));
        expect(removeHostsBlock(input).slice(0, offset)).toBe(input.slice(0, offset));
      }),
    );
  });

  it('keeps the block where it is once it is last: a second render changes nothing before it', () => {
    fc.assert(
      fc.property(touchedFile, entries, entries, (input, es, others) => {
        const first = renderHostsFile(input, es);
        expect(blockOffset(renderHostsFile(first, others))).toBe(blockOffset(first));
      }),
    );
  });

  it('does not depend on the order of the entries', () => {
    const shuffled = entries.chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length })));
    fc.assert(
      fc.property(userFile, shuffled, (input, [es, reordered]) => {
        expect(renderHostsFile(input, reordered)).toBe(renderHostsFile(input, es));
      }),
    );
  });
});
