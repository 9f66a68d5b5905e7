/**
 * The demo's story as a test (e2e/story/story.ts): without hairpin-proxy cert-manager's
 * self-check fails with EOF and no certificate is issued (the negative control); with it the
 * self-check passes and pebble issues one; uninstall restores the Corefile and nothing is left.
 * Needs root and network namespaces; skipped, saying why, without them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { canUseNetns, cleanupAll, HAIRPIN_CLUSTER_IP, withLogs } from '../harness/index.js';
import { runStory, type StoryResult } from '../story/story.js';
import { ADDRESSES } from '../story/topology.js';

const netns = await canUseNetns();
if (!netns.ok) console.warn(`story integration test skipped: ${netns.reason}`);
const describeWithNetns = netns.ok ? describe : describe.skip;

let result: StoryResult;
const narration: string[] = [];

describeWithNetns('the hairpin story: cert-manager behind a PROXY-protocol load balancer', () => {
  beforeAll(
    withLogs(async () => {
      result = await runStory({
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
    expect(after.in_cluster_dns).toBe(HAIRPIN_CLUSTER_IP);
    expect(after.in_cluster_request).toBe('HTTP 200');
    expect(after.self_check).toBe('passed');
    expect(after.self_check_passes).toBe(5);
    expect(after.certificate).toBe('issued');
    expect(after.certificate_names).toBe('DNS:shop.example.test');
    expect(after.certificate_chain_verified).toBe(true);
    expect(after.seconds_to_certificate).toBeLessThan(60);
  });

  it('uninstall restores the Corefile byte for byte and nothing is left running', () => {
    expect(result.cleanup).toEqual({ corefile_restored: true, dns_answers_load_balancer_again: true, namespaces_left: 0, processes_left: 0 });
    expect(narration.join('\n')).toMatch(/Certificate ISSUED/);
  });
});
