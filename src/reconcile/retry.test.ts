import { describe, expect, it } from '@jest/globals';
import { CorefileError } from '../coredns/corefile.js';
import { DataPlaneError } from '../haproxy/dataplane/errors.js';
import { KubeError } from '../kube/errors.js';
import { retryClassOf } from './retry.js';

const kube = (kind: KubeError['kind'], status?: number) => new KubeError(kind, 'update ConfigMap kube-system/coredns', status, 'detail');
const dataplane = (kind: DataPlaneError['kind'], status?: number) => new DataPlaneError(kind, 'PUT', '/p', status, 'detail');

describe('retryClassOf: what a failed sync waits for', () => {
  it.each([
    ['a malformed Corefile', new CorefileError("'# END hairpin-proxy' marker without a BEGIN marker before it", 3), 'permanent'],
    ['a missing ConfigMap (404)', kube('NotFound', 404), 'permanent'],
    ['a missing Corefile key, or a Corefile over the size limit (422)', kube('Invalid', 422), 'permanent'],
    ['RBAC refusing a write (403)', kube('Forbidden', 403), 'permanent'],
    ['rejected credentials (401)', kube('Unauthorized', 401), 'permanent'],
    ['the apiserver away or timing out', kube('Unavailable'), 'transient'],
    ['a concurrent writer (409)', kube('Conflict', 409), 'transient'],
    ['a configuration HAProxy refuses (400)', dataplane('Invalid', 400), 'permanent'],
    ['a wrong Data Plane API password (401)', dataplane('Unauthorized', 401), 'permanent'],
    ['the Data Plane API away', dataplane('Unavailable'), 'transient'],
    ['a stale configuration version (409)', dataplane('Conflict', 409), 'transient'],
    ['an outdated transaction (406)', dataplane('OutdatedTransaction', 406), 'transient'],
    ['too many open transactions (429)', dataplane('TooManyTransactions', 429), 'transient'],
    ['a section deleted by someone else meanwhile (404)', dataplane('NotFound', 404), 'transient'],
    ['anything unexpected', new TypeError('x is undefined'), 'transient'],
  ])('%s is %s', (_what, error, expected) => {
    expect(retryClassOf(error)).toBe(expected);
  });
});
