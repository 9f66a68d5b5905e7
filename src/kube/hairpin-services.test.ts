import { describe, expect, it } from '@jest/globals';
import type { ServiceLike } from '../model/objects.js';
import { MANAGED_LABELS, planHairpinServices, UPSTREAM_ANNOTATION, type HairpinServiceSpec } from './hairpin-services.js';

const selector = { 'app.kubernetes.io/name': 'hairpin-proxy-haproxy' };
const spec = (name: string, listenPort = 21230): HairpinServiceSpec => ({
  name,
  upstream: `ns/${name}`,
  ports: [
    { port: 80, listenPort },
    { port: 443, listenPort: listenPort + 1 },
  ],
});
/** A Service as the apiserver returns it for spec: defaults filled in, a resourceVersion. */
const live = (from: HairpinServiceSpec, changes: { selector?: Record<string, string>; listenPort?: number } = {}): ServiceLike => ({
  metadata: { name: from.name, resourceVersion: '42', labels: { ...MANAGED_LABELS }, annotations: { [UPSTREAM_ANNOTATION]: from.upstream } },
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.96.3.4',
    selector: changes.selector ?? selector,
    ports: from.ports.map(({ port, listenPort }) => ({ name: `tcp-${port}`, port, targetPort: changes.listenPort === undefined ? listenPort : changes.listenPort + (port === 443 ? 1 : 0), protocol: 'TCP' })),
  },
});

describe('planHairpinServices', () => {
  it('creates a Service per upstream that selects the hairpin pods, each port to its frontend port', () => {
    const { create, update, remove } = planHairpinServices([spec('gw')], [], selector);
    expect([update, remove]).toEqual([[], []]);
    expect(create).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'gw', labels: MANAGED_LABELS, annotations: { [UPSTREAM_ANNOTATION]: 'ns/gw' } },
        spec: {
          type: 'ClusterIP',
          selector,
          ports: [
            { name: 'tcp-80', port: 80, targetPort: 21230, protocol: 'TCP' },
            { name: 'tcp-443', port: 443, targetPort: 21231, protocol: 'TCP' },
          ],
        },
      },
    ]);
  });

  it('changes nothing when the live Services match (apiserver defaults are not differences)', () => {
    expect(planHairpinServices([spec('gw')], [live(spec('gw'))], selector)).toEqual({ create: [], update: [], remove: [] });
  });

  it('patches a Service whose ports moved, with its resourceVersion', () => {
    const { update } = planHairpinServices([spec('gw')], [live(spec('gw'), { listenPort: 29990 })], selector);
    expect(update).toEqual([{ name: 'gw', patch: expect.objectContaining({ metadata: expect.objectContaining({ resourceVersion: '42' }) }) }]);
    expect(update[0]?.patch.spec?.ports?.map((p) => p.targetPort)).toEqual([21230, 21231]);
  });

  it('removes selector keys the hairpin Service no longer has (a merge patch would keep them)', () => {
    const { update } = planHairpinServices([spec('gw')], [live(spec('gw'), { selector: { ...selector, old: 'x' } })], selector);
    expect(update[0]?.patch.spec?.selector).toEqual({ ...selector, old: null });
  });

  it('deletes managed Services of upstreams no longer configured, guarded by their resourceVersion', () => {
    expect(planHairpinServices([], [live(spec('gone'))], selector).remove).toEqual([{ name: 'gone', resourceVersion: '42' }]);
  });
});
