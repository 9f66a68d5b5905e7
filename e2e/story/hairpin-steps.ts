/**
 * The hairpin HAProxy's part in the story: how it is introduced at set-up, the controller flags
 * that hand it to the controller (or not), and, after the controller starts, the wait until it
 * forwards to ingress-nginx, read back from its Data Plane API rather than from the controller's
 * logs. Both kinds of hairpin HAProxy (hairpin-haproxy.ts) are told, each as what it is.
 */
import { waitFor } from '../harness/index.js';
import { INGRESS_SERVICE_PORTS } from './cluster-objects.js';
import { describeRoutes, forwardsTo, readRoutes, type HairpinRoute } from './hairpin-dataplane.js';
import type { HairpinHaproxy } from './hairpin-haproxy.js';
import { StoryError } from './story-error.js';
import type { StoryUpstream } from './upstream.js';

/** The upstream Service's ports (see INGRESS_SERVICE_PORTS): the controller's --haproxy-ports. */
export const HAIRPIN_PORTS: readonly number[] = INGRESS_SERVICE_PORTS.map((p) => p.port);

/** Says what the hairpin HAProxy is before the controller runs; a managed one must be empty. */
export async function introduceHairpin(hairpin: HairpinHaproxy, say: (line: string) => void): Promise<void> {
  if (hairpin.kind === 'static') {
    say(
      `Hairpin HAProxy: STATIC configuration (${describeRoutes(hairpin.routes)}) because the Data Plane API is not available on this machine ` +
        `(${hairpin.reason}); the controller will run with --no-manage-haproxy and only rewrite DNS`,
    );
    return;
  }
  const routes = await readRoutes(hairpin.dataplane.client());
  if (routes.length > 0) throw new StoryError('setting up', `the hairpin HAProxy must start empty, but it forwards ${describeRoutes(routes)}`);
  say(
    `Hairpin HAProxy: started EMPTY (global + defaults, ${describeRoutes(routes)}) with its Data Plane API on ${hairpin.podEndpoint} in the hairpin pod; ` +
      `the controller reaches the API through a relay at ${hairpin.dataplane.url}`,
  );
}

export interface ControllerHaproxyFlags {
  /** For startController: none means --no-manage-haproxy. */
  readonly dataplaneUrls: readonly string[];
  readonly args: readonly string[];
  /** The flags as the story prints them. */
  readonly shown: string;
}

/** The upstream's own flags, then how the controller reaches the hairpin HAProxy. */
export function controllerFlags(hairpin: HairpinHaproxy, upstream: StoryUpstream): ControllerHaproxyFlags {
  // --haproxy-ports once per port: on the command line a list flag does not split on commas.
  const ports = HAIRPIN_PORTS.flatMap((port) => ['--haproxy-ports', String(port)]);
  // Without --target: --ingress-controller is the default, spelled out to tie it to
  // cluster-objects.ts; the PROXY version is what the cloud load balancer sends, so nginx sees
  // the same header from both paths. With --target, the target says both.
  const single = upstream.source === 'ingress' ? ['--ingress-controller', `${upstream.service.namespace}/${upstream.service.name}`, '--proxy-protocol', upstream.proxyProtocol] : [];
  const args = [...upstream.controllerArgs, ...single, ...ports];
  if (hairpin.kind === 'static') return { dataplaneUrls: [], args, shown: [...args, '--no-manage-haproxy'].join(' ') };
  // The API password comes from startController's environment (HAIRPIN_DATAPLANE_PASSWORD).
  const url = hairpin.dataplane.url;
  return { dataplaneUrls: [url], args, shown: [...args, '--dataplane-url', url].join(' ') };
}

/** with_controller's HAProxy fields. */
export interface HairpinOutcome {
  /** Or, where the Data Plane API is not available, why not. */
  readonly haproxy_configured_by: 'dataplane-api' | `static config (${string})`;
  /** From the controller's start until HAProxy forwards to ingress-nginx; null when static. */
  readonly seconds_to_haproxy: number | null;
  /** What HAProxy forwards, as read back: ":80 -> 10.244.0.20:80 send-proxy, …". */
  readonly haproxy_routes: string;
  /** Reloads the controller's changes cost (HAProxy's master counter); null when static. */
  readonly haproxy_reloads: number | null;
}

export interface AwaitOptions {
  /** Where the controller must send traffic: the ingress-nginx pod. */
  readonly ingressAddress: string;
  /** The frontend ports that must forward there, with the upstream's PROXY header. */
  readonly upstream: StoryUpstream;
  /** Date.now() when the controller was started. */
  readonly controllerStartedAt: number;
  readonly timeoutMs: number;
  readonly say: (line: string) => void;
}

/**
 * Bounded: returns once every port forwards to ingress-nginx with a PROXY header in the running
 * HAProxy, so the self-check that follows measures the whole path, not a reload still pending.
 * (The controller's /readyz only covers the Corefile.)
 */
export async function awaitHairpinConfigured(hairpin: HairpinHaproxy, options: AwaitOptions): Promise<HairpinOutcome> {
  const { say } = options;
  if (hairpin.kind === 'static') {
    say(`2. The hairpin HAProxy keeps its STATIC configuration (${describeRoutes(hairpin.routes)}): the Data Plane API is not available here`);
    return { haproxy_configured_by: `static config (${hairpin.reason})`, seconds_to_haproxy: null, haproxy_routes: describeRoutes(hairpin.routes), haproxy_reloads: null };
  }
  const api = hairpin.dataplane.client();
  const ports = options.upstream.hairpin.ports.map((p) => p.listenPort);
  const header = options.upstream.proxyProtocol === 'v2' ? 'send-proxy-v2' : 'send-proxy';
  const routes = await waitFor(
    async (): Promise<HairpinRoute[]> => {
      const seen = await readRoutes(api);
      // Thrown, not returned: waitFor's timeout message then says what HAProxy did forward.
      if (!forwardsTo(seen, ports, options.ingressAddress, header)) throw new Error(`HAProxy forwards ${describeRoutes(seen)}`);
      return seen;
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 100,
      what: `the hairpin HAProxy to forward ${ports.map((p) => `:${p}`).join(', ')} to ${options.ingressAddress} with ${header} (read from its Data Plane API)`,
    },
  );
  const seconds = Math.round((Date.now() - options.controllerStartedAt) / 100) / 10;
  const reloads = (await hairpin.dataplane.reloads()) - hairpin.reloadsAtStart;
  say(
    `2. After ${seconds}s the controller had configured the hairpin HAProxy through its Data Plane API (read back from it): ` +
      `${describeRoutes(routes)}; ${reloads} reload${reloads === 1 ? '' : 's'}`,
  );
  return { haproxy_configured_by: 'dataplane-api', seconds_to_haproxy: seconds, haproxy_routes: describeRoutes(routes), haproxy_reloads: reloads };
}
