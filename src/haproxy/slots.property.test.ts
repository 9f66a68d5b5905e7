import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Server } from './dataplane/models.js';
import type { Endpoint } from './desired.js';
import { planSlots, slotName, SPARE_SLOTS } from './slots.js';

const template = { 'send-proxy': 'enabled', check: 'enabled' } as const;
const endpoint = fc.record({ address: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', 'fd00::5'), port: fc.constantFrom(80, 8080) });
const endpoints = fc.uniqueArray(endpoint, { selector: (e) => `${e.address}|${e.port}`, maxLength: 6 });

/** Applies a plan's changes to the live servers, as the Data Plane API would. */
function apply(live: readonly Server[], desired: readonly Endpoint[]): Server[] {
  const byName = new Map(live.map((s) => [s.name, s]));
  for (const change of planSlots(live, desired, template).changes) byName.set(change.server.name, change.server);
  return [...byName.values()];
}

const serving = (servers: readonly Server[]) => servers.filter((s) => s.maintenance !== 'enabled').map((s) => `${s.address}|${s.port}`).sort();
const wanted = (desired: readonly Endpoint[]) => desired.map((e) => `${e.address}|${e.port}`).sort();

describe('planSlots', () => {
  it('after any sequence of endpoint sets, exactly the current endpoints are in service', () => {
    fc.assert(
      fc.property(fc.array(endpoints, { minLength: 1, maxLength: 8 }), (history) => {
        let live: Server[] = [];
        for (const desired of history) {
          live = apply(live, desired);
          expect(serving(live)).toEqual(wanted(desired));
        }
      }),
    );
  });

  it('never deletes a slot, and grows only for an endpoint without one, to at most SPARE_SLOTS beyond the largest endpoint count seen', () => {
    fc.assert(
      fc.property(fc.array(endpoints, { minLength: 1, maxLength: 8 }), (history) => {
        let live: Server[] = [];
        let most = 0;
        for (const desired of history) {
          const before = new Set(live.map((s) => s.name));
          const homeless = desired.filter((e) => !live.some((s) => s.address === e.address && s.port === e.port)).length;
          const grown = apply(live, desired);
          most = Math.max(most, desired.length);
          expect([...before].every((name) => grown.some((s) => s.name === name))).toBe(true);
          expect(grown.length - live.length).toBeLessThanOrEqual(homeless);
          expect(grown.length).toBeLessThanOrEqual(Math.max(live.length, most + SPARE_SLOTS));
          live = grown;
        }
      }),
    );
  });

  it('keeps a returning endpoint on its own slot when the churn stays within the spares: no new address after the first', () => {
    fc.assert(
      fc.property(fc.array(endpoints, { minLength: 1, maxLength: 8 }), (history) => {
        const distinct = new Set(history.flat().map((e) => `${e.address}|${e.port}`)).size;
        fc.pre(distinct <= Math.min(...history.map((d) => d.length)) + SPARE_SLOTS);
        let live: Server[] = [];
        for (const desired of history) {
          const byName = new Map(live.map((s) => [s.name, s]));
          for (const change of planSlots(live, desired, template).changes) {
            const before = byName.get(change.server.name);
            if (change.op === 'update' && before) expect(change.server.address).toBe(before.address);
          }
          live = apply(live, desired);
        }
      }),
    );
  });

  it('never leaves a moment with fewer servers in service than both the old and the new set have', () => {
    fc.assert(
      fc.property(endpoints, endpoints, (before, after) => {
        let live = apply([], before);
        const floor = Math.min(before.length, after.length);
        for (const change of planSlots(live, after, template).changes) {
          live = live.filter((s) => s.name !== change.server.name).concat(change.server);
          expect(serving(live).length).toBeGreaterThanOrEqual(floor);
        }
      }),
    );
  });

  it('is a no-op when nothing changed', () => {
    fc.assert(
      fc.property(endpoints, (desired) => {
        const live = apply([], desired);
        expect(planSlots(live, desired, template).changes).toEqual([]);
      }),
    );
  });

  it.each([
    ['a new endpoint takes a new slot while spares are allowed; the gone one is parked, keeping its address', ['10.0.0.1', '10.0.0.2'], ['10.0.0.1', '10.0.0.3'], [['add', slotName(3), '10.0.0.3'], ['update', slotName(3), '10.0.0.3'], ['update', slotName(2), '10.0.0.2']]],
    ['a vanished endpoint is parked in maintenance', ['10.0.0.1', '10.0.0.2'], ['10.0.0.1'], [['update', slotName(2), '10.0.0.2']]],
    ['more endpoints than slots adds a parked server, then switches it on', ['10.0.0.1'], ['10.0.0.1', '10.0.0.2'], [['add', slotName(2), '10.0.0.2'], ['update', slotName(2), '10.0.0.2']]],
  ])('%s', (_what, before, after, expected) => {
    const live = apply([], before.map((address) => ({ address, port: 80 })));
    const { changes } = planSlots(live, after.map((address) => ({ address, port: 80 })), template);
    expect(changes.map((c) => [c.op, c.server.name, c.server.address])).toEqual(expected);
  });

  it('beyond the spares, a new endpoint takes a free slot, a parked one first', () => {
    const six = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'].map((address) => ({ address, port: 80 }));
    // Six slots for two endpoints: the spares are used up.
    const live = apply(apply([], six), [{ address: '10.0.0.1', port: 80 }]);
    const { changes } = planSlots(live, [{ address: '10.0.0.1', port: 80 }, { address: '10.0.0.9', port: 80 }], template);
    expect(changes.map((c) => [c.op, c.server.name, c.server.address])).toEqual([['update', slotName(2), '10.0.0.9']]);
  });

  it('switches a parked slot back on when its endpoint returns, without moving it', () => {
    const live = apply(apply([], [{ address: '10.0.0.1', port: 80 }, { address: '10.0.0.2', port: 80 }]), [{ address: '10.0.0.2', port: 80 }]);
    const { changes } = planSlots(live, [{ address: '10.0.0.1', port: 80 }, { address: '10.0.0.2', port: 80 }], template);
    expect(changes).toEqual([expect.objectContaining({ op: 'update', server: expect.objectContaining({ name: slotName(1), address: '10.0.0.1', maintenance: 'disabled' }) })]);
  });
});
