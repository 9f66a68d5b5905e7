import type { Endpoint } from './desired.js';
import type { Server } from './dataplane/models.js';

/** A server write that HAProxy applies through its runtime API, without a reload. */
export type ServerChange =
  | { readonly op: 'add'; readonly server: Server; readonly reason: string }
  | { readonly op: 'update'; readonly server: Server; readonly reason: string };

export interface SlotPlan {
  /** The backend's servers once the changes are applied, in slot order. */
  readonly servers: readonly Server[];
  readonly changes: readonly ServerChange[];
}

/**
 * Parked slots a backend may keep beyond its endpoints. Switching a parked slot back on is a
 * runtime call (milliseconds); giving a slot a new address, or adding one, is a file write
 * (~100 ms, src/haproxy/dataplane/README.md). Endpoints that come back (a readiness flap, a
 * rollback) find their own slot.
 */
export const SPARE_SLOTS = 4;

/**
 * Endpoints live in numbered server slots, as haproxytech's ingress controller does it, because
 * that keeps endpoint churn off the reload path: the Data Plane API changes a server's address or
 * maintenance state and adds a server through the runtime socket, but removes one only by
 * reloading. So a vanished endpoint's slot goes into maintenance, keeping its address while the
 * backend has at most SPARE_SLOTS more slots than endpoints; beyond that a new endpoint reuses a
 * free slot. Slots are never deleted here.
 *
 * Pure. `template` holds the settings every slot shares (PROXY protocol, health checks); a slot
 * whose settings differ from it is not this function's business (the backend is replaced).
 */
export function planSlots(live: readonly Server[], desired: readonly Endpoint[], template: Omit<Server, 'name' | 'address' | 'port'>): SlotPlan {
  const wanted = new Map(desired.map((endpoint) => [keyOf(endpoint), endpoint]));
  const slots = [...live].sort(bySlotOrder);
  const result = new Map<string, Server>(slots.map((server) => [server.name, server]));
  const changes: ServerChange[] = [];
  // Parked last: taking servers out before the new ones are in would leave moments with none.
  const parks: ServerChange[] = [];
  const free: Server[] = [];

  for (const server of slots) {
    const key = keyOf(server);
    if (!inMaintenance(server) && wanted.has(key)) wanted.delete(key);
    else free.push(server);
  }
  // A slot in maintenance that still holds a returning endpoint only needs to be switched on.
  for (const server of [...free]) {
    const endpoint = wanted.get(keyOf(server));
    if (!endpoint) continue;
    wanted.delete(keyOf(server));
    free.splice(free.indexOf(server), 1);
    set(server, endpoint, `endpoint ${keyOf(endpoint)} is ready again`);
  }
  // New slots while spares are allowed, so a parked slot keeps its endpoint's address for when it
  // returns; free slots get new addresses only beyond that, the parked ones first.
  const spare = Math.max(0, desired.length + SPARE_SLOTS - slots.length);
  let reassign = Math.max(0, wanted.size - spare);
  free.sort((a, b) => Number(inMaintenance(b)) - Number(inMaintenance(a)) || bySlotOrder(a, b));
  for (const server of free) {
    const endpoint = reassign > 0 ? wanted.values().next().value : undefined;
    if (endpoint) {
      reassign -= 1;
      wanted.delete(keyOf(endpoint));
      set(server, endpoint, `endpoint ${keyOf(endpoint)} takes the free slot of ${keyOf(server)}`);
    } else if (!inMaintenance(server)) {
      const parked = { ...server, maintenance: 'enabled' as const };
      result.set(server.name, parked);
      parks.push({ op: 'update', server: parked, reason: `endpoint ${keyOf(server)} is gone` });
    }
  }
  let next = 1;
  for (const endpoint of wanted.values()) {
    while (result.has(slotName(next))) next += 1;
    const server: Server = { ...template, name: slotName(next), address: endpoint.address, port: endpoint.port, maintenance: 'disabled' };
    result.set(server.name, server);
    // HAProxy 2.6 counts a server added at runtime as up but leaves it out of the load-balancing
    // rotation until it leaves maintenance: add it parked, then switch it on.
    changes.push({ op: 'add', server: { ...server, maintenance: 'enabled' }, reason: `new endpoint ${keyOf(endpoint)}` });
    changes.push({ op: 'update', server, reason: `new endpoint ${keyOf(endpoint)} joins the rotation` });
  }
  return { servers: [...result.values()].sort(bySlotOrder), changes: [...changes, ...parks] };

  function set(server: Server, endpoint: Endpoint, reason: string): void {
    const updated: Server = { ...server, address: endpoint.address, port: endpoint.port, maintenance: 'disabled' };
    result.set(server.name, updated);
    changes.push({ op: 'update', server: updated, reason });
  }
}

/** The servers of a backend created from scratch: one slot per endpoint, all in service. */
export function freshSlots(desired: readonly Endpoint[], template: Omit<Server, 'name' | 'address' | 'port'>): Server[] {
  return planSlots([], desired, template).servers.slice();
}

export function slotName(index: number): string {
  return `slot${index}`;
}

function slotIndex(name: string): number {
  const match = /^slot(\d+)$/.exec(name);
  return match ? Number(match[1]) : Number.MAX_SAFE_INTEGER;
}

function bySlotOrder(a: Server, b: Server): number {
  return slotIndex(a.name) - slotIndex(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function inMaintenance(server: Server): boolean {
  return server.maintenance === 'enabled';
}

function keyOf(endpoint: { address: string; port?: number | null }): string {
  return endpoint.address.includes(':') ? `[${endpoint.address}]:${endpoint.port ?? ''}` : `${endpoint.address}:${endpoint.port ?? ''}`;
}
