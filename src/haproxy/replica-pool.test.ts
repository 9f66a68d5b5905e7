import { describe, expect, it } from '@jest/globals';
import { FakeDataPlane } from '../testing/fake-dataplane.js';
import { ReplicaPool } from './replica-pool.js';
import { fixedReplicas, type Replica } from './replicas.js';
import { HaproxySink } from './sink.js';

describe('ReplicaPool', () => {
  function setup() {
    let current: Replica[] = fixedReplicas(['http://a:5555/v3', 'http://b:5555/v3']);
    const connected: string[] = [];
    const pool = new ReplicaPool(
      () => current,
      (replica) => {
        connected.push(replica.url);
        return new HaproxySink(new FakeDataPlane());
      },
    );
    return { pool, connected, setCurrent: (urls: string[]) => (current = fixedReplicas(urls)) };
  }

  it('keeps one sink per replica across syncs', () => {
    const { pool, connected } = setup();
    const [a] = pool.replicas();
    if (!a) throw new Error('no replica');
    expect(pool.sinkFor(a)).toBe(pool.sinkFor(a));
    expect(connected).toEqual(['http://a:5555/v3']);
  });

  it('forgets a replica whose pod is gone, and connects afresh if it comes back', () => {
    const { pool, connected, setCurrent } = setup();
    const [a] = pool.replicas();
    if (!a) throw new Error('no replica');
    const first = pool.sinkFor(a);
    setCurrent(['http://b:5555/v3']);
    expect(pool.replicas().map((r) => r.url)).toEqual(['http://b:5555/v3']);
    setCurrent(['http://a:5555/v3']);
    pool.replicas();
    expect(pool.sinkFor(a)).not.toBe(first);
    expect(connected).toEqual(['http://a:5555/v3', 'http://a:5555/v3']);
  });
});
