import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { KubeError, toKubeError } from './errors.js';

const status = (code: number, message: string) => new ApiException(code, 'HTTP error', JSON.stringify({ kind: 'Status', message }), {});

describe('toKubeError', () => {
  const cases: ReadonlyArray<[input: unknown, kind: string, detail: string]> = [
    [status(409, 'the object has been modified'), 'Conflict', 'the object has been modified'],
    [status(404, 'configmaps "coredns" not found'), 'NotFound', 'configmaps "coredns" not found'],
    [status(422, 'invalid'), 'Invalid', 'invalid'],
    [status(403, 'forbidden: cannot update'), 'Forbidden', 'forbidden: cannot update'],
    [status(401, 'Unauthorized'), 'Unauthorized', 'Unauthorized'],
    [status(503, 'etcd down'), 'Unavailable', 'etcd down'],
    [new ApiException(500, 'x', 'not json', {}), 'Unavailable', 'not json'],
    [Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'Unavailable', 'fetch failed (ECONNREFUSED)'],
  ];

  it.each(cases)('classifies %s as %s', (input, kind, detail) => {
    const error = toKubeError('update ConfigMap kube-system/coredns', input);
    expect(error).toBeInstanceOf(KubeError);
    expect(error.kind).toBe(kind);
    expect(error.message).toContain('update ConfigMap kube-system/coredns');
    expect(error.message).toContain(detail);
  });

  it('keeps an existing KubeError as it is', () => {
    const original = new KubeError('Conflict', 'op', 409, 'x');
    expect(toKubeError('other', original)).toBe(original);
  });
});
