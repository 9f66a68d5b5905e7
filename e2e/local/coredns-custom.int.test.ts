/**
 * k3s and AKS: a distribution-managed Corefile that imports `*.override` files from the
 * coredns-custom ConfigMap. Against a real apiserver, the real controller under its own identity
 * and a real CoreDNS that mounts coredns-custom as k3s does: `--coredns-mode auto` writes only
 * our key of coredns-custom (creating the ConfigMap, which k3s does not ship) and never the
 * Corefile; CoreDNS answers through the override; a switch of mode moves the rules and removes
 * the old ones; uninstall restores both ConfigMaps (or their absence) byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  blockMentions,
  cleanupAll,
  COREDNS_NAMESPACE,
  HAIRPIN_CLUSTER_IP,
  ingress,
  K3S_CUSTOM_DIR,
  k3sCorefile,
  makeTmpDir,
  markerBlock,
  readCorefile,
  runCli,
  seedCluster,
  startControlPlane,
  startController,
  startCoreDns,
  waitFor,
  withLogs,
  writeCorefile,
  type ControlPlane,
  type ControllerProcess,
  type CoreDns,
} from '../harness/index.js';

const CONVERGE_MS = 30_000;
const TEST_TIMEOUT_MS = 90_000;
const CUSTOM = 'coredns-custom';
const OVERRIDE_KEY = 'hairpin-proxy.override';

let plane: ControlPlane;
let dns: CoreDns;
let controller: ControllerProcess;
let tmpDir: string;
let k3s: string;

interface ConfigMapView {
  metadata: { annotations?: Record<string, string> };
  data?: Record<string, string>;
}

async function customConfigMap(): Promise<ConfigMapView | undefined> {
  const found = await plane.kubectl(['get', 'configmap', '-n', COREDNS_NAMESPACE, CUSTOM, '-o', 'json'], { allowFail: true });
  return found.code === 0 ? (JSON.parse(found.stdout) as ConfigMapView) : undefined;
}

async function overrideConverges(present: readonly string[], absent: readonly string[] = []): Promise<string> {
  return waitFor(
    async () => {
      const override = (await customConfigMap())?.data?.[OVERRIDE_KEY] ?? '';
      return present.every((h) => blockMentions(override, h)) && absent.every((h) => !blockMentions(override, h)) ? override : undefined;
    },
    { timeoutMs: CONVERGE_MS, intervalMs: 200, what: `the override to route [${present.join(', ')}] and not [${absent.join(', ')}]` },
  );
}

async function resolvesToHairpin(name: string): Promise<void> {
  await waitFor(async () => ((await dns.addressesOf(name)).includes(HAIRPIN_CLUSTER_IP) ? true : undefined), {
    timeoutMs: CONVERGE_MS,
    intervalMs: 250,
    what: `${name} to resolve to ${HAIRPIN_CLUSTER_IP} through the override`,
  });
}

const uninstall = async () => {
  const run = await runCli(['uninstall', '--kubeconfig', plane.controllerKubeconfigPath], 60_000);
  expect(run.code).toBe(0);
};

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('coredns-custom');
    plane = await startControlPlane({ tmpDir });
    const seeded = await seedCluster(plane);
    k3s = k3sCorefile(seeded.corefilePorts);
    await writeCorefile(plane, k3s);
    dns = await startCoreDns({ controlPlane: plane, tmpDir, mountedConfigMap: { namespace: COREDNS_NAMESPACE, name: CUSTOM, mountPath: K3S_CUSTOM_DIR } });
    controller = await startController({ controlPlane: plane, tmpDir });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

describe('--coredns-mode auto on k3s', () => {
  it(
    'writes the rules into coredns-custom (creating it) and never touches the Corefile; CoreDNS answers through the override',
    withLogs(async () => {
      expect(await customConfigMap()).toBeUndefined();
      await plane.apply(ingress({ name: 'shop', hosts: ['shop.example.com', '*.apps.example.com'] }));
      const override = await overrideConverges(['shop.example.com', '*.apps.example.com']);
      expect(override).toMatch(/^# hairpin-proxy: managed by hairpin-proxy/);
      expect((await customConfigMap())?.metadata.annotations?.['hairpin-proxy.io/created']).toBe('true');
      expect(await readCorefile(plane)).toBe(k3s);
      await resolvesToHairpin('shop.example.com');
      await resolvesToHairpin('x.apps.example.com');
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'follows the Ingresses',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'shop', hosts: ['shop.example.com', 'new.example.com'] }));
      await overrideConverges(['shop.example.com', 'new.example.com'], ['*.apps.example.com']);
      await resolvesToHairpin('new.example.com');
      expect(await readCorefile(plane)).toBe(k3s);
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'moves the rules when the mode changes, and removes what the old mode wrote',
    withLogs(async () => {
      await controller.stop();
      controller = await startController({ controlPlane: plane, tmpDir, args: ['--coredns-mode', 'corefile'], name: 'controller-corefile' });
      await waitFor(async () => (blockMentions(markerBlock(await readCorefile(plane)), 'new.example.com') ? true : undefined), {
        timeoutMs: CONVERGE_MS,
        intervalMs: 200,
        what: 'the rules in the Corefile',
      });
      await waitFor(async () => ((await customConfigMap())?.data?.[OVERRIDE_KEY] === undefined ? true : undefined), {
        timeoutMs: CONVERGE_MS,
        intervalMs: 200,
        what: 'the override to be removed',
      });

      await controller.stop();
      controller = await startController({ controlPlane: plane, tmpDir, name: 'controller-auto' });
      await overrideConverges(['new.example.com']);
      await waitFor(async () => ((await readCorefile(plane)) === k3s ? true : undefined), { timeoutMs: CONVERGE_MS, intervalMs: 200, what: 'the Corefile to be k3s\'s again' });
      await resolvesToHairpin('new.example.com');
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'uninstall restores the Corefile and removes the coredns-custom ConfigMap it created',
    withLogs(async () => {
      await controller.stop();
      await uninstall();
      expect(await readCorefile(plane)).toBe(k3s);
      expect(await customConfigMap()).toBeUndefined();
    }),
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps a coredns-custom ConfigMap someone else made, with their keys, and restores it byte for byte',
    withLogs(async () => {
      const theirs = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CUSTOM, namespace: COREDNS_NAMESPACE }, data: { 'log.override': 'log\n' } };
      await plane.apply(theirs);
      const before = await customConfigMap();
      controller = await startController({ controlPlane: plane, tmpDir, name: 'controller-theirs' });
      await overrideConverges(['new.example.com']);
      expect((await customConfigMap())?.data?.['log.override']).toBe('log\n');
      await controller.stop();
      await uninstall();
      expect((await customConfigMap())?.data).toEqual(before?.data);
      expect(await readCorefile(plane)).toBe(k3s);
    }),
    TEST_TIMEOUT_MS,
  );
});
