/**
 * The hairpin HAProxy: what the hairpin-proxy-haproxy Service's pod runs. It receives the
 * in-cluster traffic that CoreDNS now sends to the Service and forwards it to the ingress
 * controller with the PROXY header the controller requires.
 *
 * As in a cluster, it starts empty and the controller configures it through the Data Plane API
 * (hairpin-dataplane.ts). A machine may lack the Data Plane API binary (hack/tools cannot always
 * build it); there the story still runs, with the static configuration below, the one the
 * controller would write, and the controller only rewrites DNS (--no-manage-haproxy). The story
 * says which of the two it is.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataplaneTools, proxyProtocolForwarderConfig, startProcess, toolPath, type ManagedProcess, type Netns } from '../harness/index.js';
import { startManagedHairpinHaproxy, type HairpinRoute, type ManagedHairpinHaproxy } from './hairpin-dataplane.js';
import { ingressPorts, type Backend } from './load-balancer.js';
import type { StoryUpstream } from './upstream.js';
import { waitForTcp } from './wait.js';

export interface HairpinHaproxyOptions {
  readonly netns: Netns;
  readonly tmpDir: string;
  /** The pod address it listens on (the Service's endpoint). */
  readonly address: string;
  readonly ingressController: Backend;
  /** The frontends the static configuration has: the upstream's ports and its PROXY version. */
  readonly upstream: StoryUpstream;
}

export interface StaticHairpinHaproxy {
  readonly kind: 'static';
  /** Why the Data Plane API is not used: what dataplaneTools() reported. */
  readonly reason: string;
  readonly process: ManagedProcess;
  /** What the static configuration forwards, in readRoutes()'s terms. */
  readonly routes: readonly HairpinRoute[];
}

export type HairpinHaproxy = ManagedHairpinHaproxy | StaticHairpinHaproxy;

export async function startHairpinHaproxy(options: HairpinHaproxyOptions): Promise<HairpinHaproxy> {
  const tools = await dataplaneTools();
  return tools.ok ? startManagedHairpinHaproxy(options) : startStaticHairpinHaproxy(options, oneLine(tools.reason));
}

/** hack/tools's reason can span lines (its stderr): the story prints it on one. */
function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** What the controller would configure: each of the upstream's frontend ports to its Service port. */
export function hairpinHaproxyConfig(options: { address: string; ingressController: Backend; upstream: StoryUpstream }): string {
  const backendPorts = new Map(ingressPorts(options.ingressController).map((p) => [p.port, p.backendPort]));
  return proxyProtocolForwarderConfig({
    comment: "hairpin-proxy's HAProxy: in-cluster clients in, PROXY header added, ingress controller out.",
    bindAddress: options.address,
    backendAddress: options.ingressController.address,
    ports: options.upstream.hairpin.ports.map(({ port, listenPort }) => ({ name: `port_${port}`, port: listenPort, backendPort: backendPorts.get(port) ?? port })),
    proxyProtocol: options.upstream.proxyProtocol,
  });
}

async function startStaticHairpinHaproxy(options: HairpinHaproxyOptions, reason: string): Promise<StaticHairpinHaproxy> {
  const config = join(options.tmpDir, 'hairpin-haproxy.cfg');
  writeFileSync(config, hairpinHaproxyConfig(options));
  const haproxy = startProcess({
    name: 'hairpin-haproxy',
    command: await toolPath('haproxy'),
    args: ['-db', '-f', config],
    logDir: options.tmpDir,
    netns: options.netns.name,
  });
  const { ports } = options.upstream.hairpin;
  const { proxyProtocol } = options.upstream;
  await waitForTcp({ netns: options.netns.name, address: options.address, port: ports[0]?.listenPort ?? 80 }, 'the hairpin HAProxy');
  const { address, httpPort, httpsPort } = options.ingressController;
  const serverPorts = new Map([[80, httpPort], [443, httpsPort]]);
  const routes = ports.map(({ port, listenPort }): HairpinRoute => ({
    port: listenPort,
    servers: [{ address, port: serverPorts.get(port) ?? port, proxyHeader: proxyProtocol === 'v2' ? 'send-proxy-v2' : 'send-proxy', serving: true }],
  }));
  return { kind: 'static', reason, process: haproxy, routes };
}
