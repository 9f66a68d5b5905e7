/**
 * The hairpin HAProxy as it runs in a cluster: HAProxy with nothing but its base configuration
 * (global + defaults) and the real Data Plane API beside it, both inside the hairpin pod's
 * namespace, the API on the pod's address. The controller fills it in from the ingress-nginx
 * Service and EndpointSlice, and the story reads back what it wrote from the same API.
 *
 * The controller runs in the root namespace, which has no route into the story's network (and
 * must not get one: no veth into the machine's own network). So the API is exposed on root
 * loopback by a relay (relay.ts), the wire the story already uses for CoreDNS and pebble. (The
 * API could run in the root namespace instead, since it reaches HAProxy through unix sockets,
 * but then it would not be HAProxy's sidecar in the pod's network as in a cluster.) The
 * controller gets the relay's URL through --dataplane-url where a cluster would discover the
 * pod's; discovery here would send it to 10.244.0.10, which root cannot reach.
 */
import { freePort, startDataplane, type LocalDataplane, type Netns } from '../harness/index.js';
import type { HarnessDataPlaneClient } from '../harness/dataplane-client.js';
import { DataPlaneError } from '../../src/haproxy/dataplane/errors.js';
import { startRelay } from './relay.js';

export interface ManagedHairpinHaproxy {
  readonly kind: 'dataplane-api';
  readonly dataplane: LocalDataplane;
  /** Where the API listens in the hairpin pod, e.g. 10.244.0.10:40123. */
  readonly podEndpoint: string;
  /** HAProxy's reload counter before anyone configured it: the controller's reloads are the rest. */
  readonly reloadsAtStart: number;
}

export async function startManagedHairpinHaproxy(options: { netns: Netns; tmpDir: string; address: string }): Promise<ManagedHairpinHaproxy> {
  let podEndpoint = '';
  const dataplane = await startDataplane({
    tmpDir: options.tmpDir,
    netns: options.netns.name,
    host: options.address,
    reachVia: async ({ host, port }) => {
      podEndpoint = `${host}:${port}`;
      const loopback = { address: '127.0.0.1', port: await freePort() };
      // Its own relay: the story's main one starts later, once CoreDNS's port is known.
      const wire = { name: 'dataplane-api', listen: loopback, target: { netns: options.netns.name, address: host, port } };
      await startRelay(options.tmpDir, [wire], 'relay-dataplane-api');
      return { host: loopback.address, port: loopback.port };
    },
  });
  return { kind: 'dataplane-api', dataplane, podEndpoint, reloadsAtStart: await dataplane.reloads() };
}

export type ProxyHeader = 'send-proxy' | 'send-proxy-v2' | 'no PROXY header';

/** One frontend port and the servers its backend sends traffic to. */
export interface HairpinRoute {
  readonly port: number;
  readonly servers: ReadonlyArray<{
    readonly address: string;
    readonly port: number;
    readonly proxyHeader: ProxyHeader;
    /** The running worker has it in rotation and up (runtime API), not only the file. */
    readonly serving: boolean;
  }>;
}

/**
 * What the hairpin HAProxy forwards, read back through its Data Plane API: the configuration
 * (frontend binds → backend servers not in maintenance) and each server's state in the running
 * worker. The file alone is not enough: a commit is followed by a reload only after the API's
 * reload_delay, and until then the old worker serves.
 */
export async function readRoutes(api: HarnessDataPlaneClient): Promise<HairpinRoute[]> {
  const { frontends, backends } = await api.snapshot();
  const routes: HairpinRoute[] = [];
  for (const frontend of frontends) {
    const backend = backends.find((b) => b.name === frontend.default_backend);
    const configured = Object.values(backend?.servers ?? {}).filter((s) => s.maintenance !== 'enabled');
    const running = backend && configured.length > 0 ? await runtimeServers(api, backend.name) : [];
    for (const bind of Object.values(frontend.binds ?? {})) {
      if (typeof bind.port !== 'number') continue;
      const servers = configured.map((server) => {
        const live = running.find((r) => r.name === server.name);
        return {
          address: server.address,
          port: server.port ?? bind.port ?? 0,
          proxyHeader: proxyHeaderOf(server),
          serving: live?.admin_state === 'ready' && live.operational_state === 'up' && live.address === server.address,
        };
      });
      routes.push({ port: bind.port, servers });
    }
  }
  return routes.sort((a, b) => a.port - b.port);
}

/** The running worker's servers; none while it has not loaded the backend yet (404). */
async function runtimeServers(api: HarnessDataPlaneClient, backend: string) {
  try {
    return await api.listRuntimeServers(backend);
  } catch (error) {
    if (error instanceof DataPlaneError && error.kind === 'NotFound') return [];
    throw error;
  }
}

function proxyHeaderOf(server: { 'send-proxy'?: string; 'send-proxy-v2'?: string }): ProxyHeader {
  if (server['send-proxy-v2'] === 'enabled') return 'send-proxy-v2';
  return server['send-proxy'] === 'enabled' ? 'send-proxy' : 'no PROXY header';
}

/** Every port forwards, with this PROXY header, to a serving server at the upstream's address. */
export function forwardsTo(routes: readonly HairpinRoute[], ports: readonly number[], address: string, header: ProxyHeader): boolean {
  return ports.every((port) => routes.some((route) => route.port === port && route.servers.some((s) => s.address === address && s.serving && s.proxyHeader === header)));
}

/** ":80 -> 10.244.0.20:80 send-proxy, :443 -> 10.244.0.20:443 send-proxy" */
export function describeRoutes(routes: readonly HairpinRoute[]): string {
  if (routes.length === 0) return 'no frontends';
  return routes
    .map((route) => `:${route.port} -> ${route.servers.map((s) => `${s.address}:${s.port} ${s.proxyHeader}`).join(' + ') || '(no server)'}`)
    .join(', ');
}
