/**
 * Ingresses in, DNS answers out: a real apiserver, the real controller under its own identity,
 * a real CoreDNS reading the ConfigMap, and dig asking it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  blockMentions,
  cleanupAll,
  HAIRPIN_CLUSTER_IP,
  ingress,
  makeTmpDir,
  markerBlock,
  readCorefile,
  seedCluster,
  startControlPlane,
  startController,
  startCoreDns,
  waitFor,
  withLogs,
  withoutMarkerBlock,
  type ControlPlane,
  type ControllerProcess,
  type CoreDns,
  type DnsAnswer,
} from '../harness/index.js';

const CONVERGE_MS = 30_000;

let plane: ControlPlane;
let dns: CoreDns;
let controller: ControllerProcess;
let seeded: string;

beforeAll(
  withLogs(async () => {
    const tmpDir = makeTmpDir('coredns');
    plane = await startControlPlane({ tmpDir });
    seeded = (await seedCluster(plane)).corefile;
    await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    dns = await startCoreDns({ controlPlane: plane, tmpDir });
    controller = await startController({ controlPlane: plane, tmpDir });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

/** Waits until the ConfigMap has a rule for every host, and none for the hosts in `absent`. */
async function corefileConverges(present: readonly string[], absent: readonly string[] = []): Promise<string> {
  return waitFor(
    async () => {
      const corefile = await readCorefile(plane);
      const block = markerBlock(corefile);
      const ok = present.every((h) => blockMentions(block, h)) && absent.every((h) => !blockMentions(block, h));
      return ok ? corefile : undefined;
    },
    { timeoutMs: CONVERGE_MS, intervalMs: 200, what: `the Corefile to route [${present.join(', ')}] and not [${absent.join(', ')}]` },
  );
}

/** Waits until CoreDNS answers `name` with the hairpin ClusterIP, and returns that answer. */
async function resolvesToHairpin(name: string) {
  return waitFor(
    async () => {
      const answer = await dns.resolve(name);
      return answer.answers.some((r) => r.type === 'A' && r.data === HAIRPIN_CLUSTER_IP) ? answer : undefined;
    },
    { timeoutMs: CONVERGE_MS, intervalMs: 250, what: `${name} to resolve to ${HAIRPIN_CLUSTER_IP}` },
  );
}

async function stopsResolvingToHairpin(name: string) {
  return waitFor(
    async () => {
      const answer = await dns.resolve(name);
      return answer.answers.some((r) => r.data === HAIRPIN_CLUSTER_IP) ? undefined : answer;
    },
    { timeoutMs: CONVERGE_MS, intervalMs: 250, what: `${name} to stop resolving to ${HAIRPIN_CLUSTER_IP}` },
  );
}

/**
 * The answer is about the name that was asked, not the rewrite target: the question comes back
 * exactly as sent (case included, which DNS-0x20 resolvers check) and every record is owned by
 * the asked name (compared case-insensitively, as DNS names are: CoreDNS lower-cases it).
 */
function expectOwnedByAskedName(asked: string, answer: DnsAnswer) {
  expect(answer.status).toBe('NOERROR');
  expect(answer.question).toBe(`${asked}.`);
  expect(answer.answers.length).toBeGreaterThan(0);
  for (const record of answer.answers) expect(record.name.toLowerCase()).toBe(`${asked.toLowerCase()}.`);
  expect(answer.answers.filter((r) => r.type === 'A').map((r) => r.data)).toEqual([HAIRPIN_CLUSTER_IP]);
}

describe('CoreDNS rewrite rules from Ingresses', () => {
  it(
    'routes rule hosts, TLS hosts and wildcard hosts; answers carry the asked name',
    withLogs(async () => {
      await plane.apply([
        ingress({ name: 'shop', hosts: ['shop.example.com'], tlsHosts: ['shop.example.com', 'secure.example.org'] }),
        ingress({ name: 'apps', namespace: 'team-a', hosts: ['*.apps.example.com'] }),
      ]);

      const corefile = await corefileConverges(['shop.example.com', 'secure.example.org', '*.apps.example.com']);
      expect(withoutMarkerBlock(corefile)).toBe(seeded);

      for (const name of ['shop.example.com', 'secure.example.org', 'foo.apps.example.com', 'SHOP.Example.com']) {
        expectOwnedByAskedName(name, await resolvesToHairpin(name));
      }
      // Ingress wildcards cover exactly one label: neither the parent nor two labels deep.
      for (const name of ['apps.example.com', 'a.b.apps.example.com']) {
        const answer = await dns.resolve(name);
        expect(answer.answers.map((r) => r.data)).not.toContain(HAIRPIN_CLUSTER_IP);
      }
    }),
  );

  it(
    'follows an updated Ingress: a new host appears, a removed host goes',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'shop', hosts: ['shop.example.com', 'new.example.com'], tlsHosts: ['shop.example.com'] }));

      const corefile = await corefileConverges(['shop.example.com', 'new.example.com', '*.apps.example.com'], ['secure.example.org']);
      expect(withoutMarkerBlock(corefile)).toBe(seeded);

      expectOwnedByAskedName('new.example.com', await resolvesToHairpin('new.example.com'));
      await stopsResolvingToHairpin('secure.example.org');
      expectOwnedByAskedName('shop.example.com', await resolvesToHairpin('shop.example.com'));
    }),
  );

  it(
    'removes every rule when the Ingresses are deleted, restoring the Corefile byte for byte',
    withLogs(async () => {
      await plane.kubectl(['delete', 'ingress', 'shop', '-n', 'default', '--wait=false']);
      await plane.kubectl(['delete', 'ingress', 'apps', '-n', 'team-a', '--wait=false']);

      await waitFor(async () => (await readCorefile(plane)) === seeded, {
        timeoutMs: CONVERGE_MS,
        intervalMs: 200,
        what: 'the Corefile to be exactly the seeded one again',
      });
      for (const name of ['shop.example.com', 'new.example.com', 'foo.apps.example.com']) await stopsResolvingToHairpin(name);
      expect(controller.process.running).toBe(true);
    }),
  );
});
