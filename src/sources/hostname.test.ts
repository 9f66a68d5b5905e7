import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { checkHost } from './hostname.js';

const valid: ReadonlyArray<[raw: string, normalised: string]> = [
  ['example.com', 'example.com'],
  ['Shop.Example.COM', 'shop.example.com'],
  ['  padded.example.com ', 'padded.example.com'],
  ['trailing-dot.example.com.', 'trailing-dot.example.com'],
  ['*.example.com', '*.example.com'],
  ['a-b.c-d.example.org', 'a-b.c-d.example.org'],
  ['0day.example.io', '0day.example.io'],
  [`${'a'.repeat(63)}.example.com`, `${'a'.repeat(63)}.example.com`],
];

const invalid: ReadonlyArray<[raw: string, reason: RegExp]> = [
  ['', /empty/],
  ['localhost', /single-label/],
  ['*.com', /top-level/],
  ['a.*.example.com', /first label/],
  ['*foo.example.com', /RFC 1123/],
  ['-lead.example.com', /RFC 1123/],
  ['trail-.example.com', /RFC 1123/],
  ['under_score.example.com', /RFC 1123/],
  ['space in.example.com', /RFC 1123/],
  ['semi;colon.example.com', /RFC 1123/],
  ['brace{.example.com', /RFC 1123/],
  ['hash#.example.com', /RFC 1123/],
  ['new\nline.example.com', /RFC 1123/],
  ['double..dot.example.com', /RFC 1123/],
  ['ünïcode.example.com', /RFC 1123/],
  [`${'a'.repeat(64)}.example.com`, /longer than 63/],
  [`${'abcdefghi.'.repeat(26)}com`, /longer than 253/],
  ['10.0.0.1', /IP address/],
  ['kubernetes.default.svc.cluster.local', /cluster domain/],
  ['cluster.local', /cluster domain/],
];

describe('checkHost', () => {
  it.each(valid)('accepts %j as %j', (raw, normalised) => {
    expect(checkHost(raw, 'cluster.local')).toEqual({ ok: true, host: normalised });
  });

  it.each(invalid)('rejects %j (%s)', (raw, reason) => {
    const result = checkHost(raw, 'cluster.local');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('honours a custom cluster domain', () => {
    expect(checkHost('api.k8s.internal', 'k8s.internal').ok).toBe(false);
    expect(checkHost('api.k8s.internal', 'cluster.local').ok).toBe(true);
  });

  it('never accepts a host that contains anything but lower-case letters, digits, dots, dashes and a leading "*."', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (raw) => {
        const result = checkHost(raw, 'cluster.local');
        if (result.ok) expect(result.host).toMatch(/^(\*\.)?[a-z0-9.-]+$/);
      }),
      { numRuns: 2000 },
    );
  });
});
