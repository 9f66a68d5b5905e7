import { describe, expect, it } from '@jest/globals';
import { discoveredReplicas, fixedReplicas } from './replicas.js';

const pod = (name: string) => ({ kind: 'Pod', namespace: 'hairpin-proxy', name, uid: `uid-${name}` });

describe('the HAProxy replicas', () => {
  it('are every address behind the hairpin Service, ready or not, not-ready first (a new pod is configured before the serving ones), each with its pod for Events', () => {
    const replicas = discoveredReplicas(
      [
        {
          ports: [{ name: 'dataplane', port: 5556 }],
          endpoints: [
            { addresses: ['10.244.0.7'], conditions: { ready: false }, targetRef: pod('haproxy-b') },
            { addresses: ['10.244.0.5'], conditions: { ready: true }, targetRef: pod('haproxy-a') },
          ],
        },
        { endpoints: [{ addresses: ['fd00::9'] }] },
      ],
      5555,
    );
    expect(replicas).toEqual([
      { key: 'haproxy/http://10.244.0.7:5556/v3', url: 'http://10.244.0.7:5556/v3', pod: { ...pod('haproxy-b'), apiVersion: 'v1' } },
      { key: 'haproxy/http://10.244.0.5:5556/v3', url: 'http://10.244.0.5:5556/v3', pod: { ...pod('haproxy-a'), apiVersion: 'v1' } },
      { key: 'haproxy/http://[fd00::9]:5555/v3', url: 'http://[fd00::9]:5555/v3' },
    ]);
  });

  it('are the fixed URLs when given, once each, sorted', () => {
    expect(fixedReplicas(['http://b:5555/v3', 'http://a:5555/v3', 'http://b:5555/v3']).map((r) => r.key)).toEqual(['haproxy/http://a:5555/v3', 'haproxy/http://b:5555/v3']);
  });
});
