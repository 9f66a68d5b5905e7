/**
 * The demo's story as a test (e2e/story/story.ts), once per source of the host: an Ingress served
 * by ingress-nginx (PROXY v1), and an HTTPRoute served by a Gateway API implementation that
 * expects PROXY v2 (`npm run demo -- --source gateway`). Without hairpin-proxy cert-manager's
 * self-check fails with EOF and no certificate is issued (the negative control); with it the
 * controller configures the empty hairpin HAProxy through its Data Plane API, the self-check
 * passes and pebble issues a certificate; uninstall restores the Corefile and nothing is left.
 * Needs root and network namespaces; skipped, saying why, without them. Without the Data Plane
 * API binary the story runs a static hairpin HAProxy, and the test checks that it says so.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { canUseNetns, cleanupAll, dataplaneTools, HAIRPIN_CLUSTER_IP, withLogs } from '../harness/index.js';
import { runStory, type StoryResult } from '../story/story.js';
import { ADDRESSES } from '../story/topology.js';
import { storyUpstream, type StorySource } from '../story/upstream.js';

const netns = await canUseNetns();
if (!netns.ok) console.warn(`story integration test skipped: ${netns.reason}`);
const describeWithNetns = netns.ok ? describe : describe.skip;
// The story makes the same check to choose its hairpin HAProxy (hairpin-haproxy.ts).
const dataplane = await dataplaneTools();
if (netns.ok && !dataplane.ok) {
  console.warn(`story integration test: "the controller configured HAProxy" skipped, the story uses a static hairpin HAProxy: ${dataplane.reason}`);
}
const withDataplaneApi = dataplane.ok ? it : it.skip;
const withoutDataplaneApi = dataplane.ok ? it.skip : it;

describeWithNetns.each<StorySource>(['ingress', 'gateway'])('the hairpin story, host from %s: cert-manager behind a PROXY-protocol load balancer', (source) => {
  const upstream = storyUpstream(source);
  const header = upstream.proxyProtocol === 'v2' ? 'send-proxy-v2' : 'send-proxy';
  let result: StoryResult;
  const narration: string[] = [];
  beforeAll(
    withLogs(async () => {
      result = await runStory({
        source,
        say: (line) => narration.push(line),
        passIntervalMs: 200,
        retryIntervalMs: 3_000,
        withoutControllerGiveUpMs: 8_000,
        withControllerTimeoutMs: 60_000,
      });
    }),
    170_000,
  );
  afterAll(() => cleanupAll(), 60_000);

  it('without hairpin-proxy: works from the internet, EOF from the pod, self-check fails, no certificate', () => {
    const before = result.without_controller;
    expect(before.external_request).toMatch(/^HTTP 200 /);
    expect(before.in_cluster_dns).toBe(ADDRESSES.loadBalancer);
    expect(before.in_cluster_request).toBe('empty reply (curl 52)');
    expect(before.self_check).toBe('failed');
    expect(before.self_check_error).toMatch(/^failed to perform self check GET request '.*': Get ".*": EOF$/);
    expect(before.self_check_requests).toBeGreaterThanOrEqual(2);
    expect(before.certificate).toBe('not issued');
    expect(before.order_status).toBe('pending');
  });

  it('with hairpin-proxy: the Corefile routes the host, the pod resolves the hairpin Service, a certificate is issued', () => {
    const after = result.with_controller;
    expect(after.corefile_rule).toMatch(/^rewrite .*shop.*example\\?\.test.* answer auto$/);
    // The seeded hairpin Service without --target; the one the controller created for the upstream with it.
    if (source === 'ingress') expect(after.in_cluster_dns).toBe(HAIRPIN_CLUSTER_IP);
    else expect(after.in_cluster_dns).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(after.in_cluster_request).toBe('HTTP 200');
    expect(after.self_check).toBe('passed');
    expect(after.self_check_passes).toBe(5);
    expect(after.certificate).toBe('issued');
    expect(after.certificate_names).toBe('DNS:shop.example.test');
    expect(after.certificate_chain_verified).toBe(true);
    expect(after.seconds_to_certificate).toBeLessThan(60);
  });

  withDataplaneApi('with hairpin-proxy: the controller configured the empty hairpin HAProxy through its Data Plane API, in one reload', () => {
    const after = result.with_controller;
    expect(after.haproxy_configured_by).toBe('dataplane-api');
    const nginx = ADDRESSES.ingressNginxPod;
    const [http, https] = upstream.hairpin.ports.map((p) => p.listenPort);
    expect(after.haproxy_routes).toBe(`:${http} -> ${nginx}:80 ${header}, :${https} -> ${nginx}:443 ${header}`);
    expect(after.haproxy_reloads).toBe(1);
    expect(after.seconds_to_haproxy).toBeLessThan(after.seconds_to_certificate);
    expect(narration.join('\n')).toMatch(/Hairpin HAProxy: started EMPTY/);
  });

  withoutDataplaneApi('without the Data Plane API: the story says the hairpin HAProxy is static, and why', () => {
    const after = result.with_controller;
    expect(after.haproxy_configured_by).toMatch(/^static config \(.+\)$/);
    expect(after.seconds_to_haproxy).toBeNull();
    expect(narration.join('\n')).toMatch(/Hairpin HAProxy: STATIC configuration .* --no-manage-haproxy/);
  });

  it('uninstall restores the Corefile byte for byte and nothing is left running', () => {
    expect(result.cleanup).toEqual({ corefile_restored: true, hairpin_services_left: 0, dns_answers_load_balancer_again: true, namespaces_left: 0, processes_left: 0 });
    expect(narration.join('\n')).toMatch(/Certificate ISSUED/);
  });
});
