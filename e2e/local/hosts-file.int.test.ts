/**
 * `hairpin-proxy hosts-file`, the node-level DaemonSet's command, against a real apiserver, as
 * the controller's identity, on a real file: the routed hosts appear in one block, last, mapped to
 * the hairpin Service's ClusterIP; wildcards are left out and said so; the file keeps its inode
 * and its other lines; a bind mount of it (how a Pod sees the node's /etc/hosts) sees every
 * change; stopping the process removes the block, byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanupAll,
  HAIRPIN_CLUSTER_IP,
  ingress,
  makeTmpDir,
  registerCleanup,
  seedCluster,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  type ControlPlane,
  type ControllerProcess,
} from '../harness/index.js';

const CONVERGE_MS = 30_000;
const USER_LINES = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.0.0.5 registry.internal # a node-local entry\n';

let plane: ControlPlane;
let nodeHosts: string;
let podView: string;
let hostsFile: ControllerProcess;

const canBindMount = (() => {
  try {
    return execFileSync('id', ['-u']).toString().trim() === '0';
  } catch {
    return false;
  }
})();
if (!canBindMount) console.warn('hosts-file integration test: not root, so the Pod\'s view is the file itself (no bind mount)');

beforeAll(
  withLogs(async () => {
    const tmpDir = makeTmpDir('hosts-file');
    plane = await startControlPlane({ tmpDir });
    await seedCluster(plane);
    nodeHosts = join(tmpDir, 'node-etc-hosts');
    writeFileSync(nodeHosts, USER_LINES);
    podView = nodeHosts;
    if (canBindMount) {
      // The DaemonSet mounts the node's /etc/hosts (a hostPath): a bind mount, like this one.
      podView = join(tmpDir, 'pod-etc-hosts');
      writeFileSync(podView, '');
      execFileSync('mount', ['--bind', nodeHosts, podView]);
      registerCleanup('unmount the Pod\'s view of /etc/hosts', () => void execFileSync('umount', [podView]));
    }
    await plane.apply(ingress({ name: 'shop', hosts: ['shop.example.com', '*.apps.example.com'] }));
    hostsFile = await startController({ controlPlane: plane, tmpDir, name: 'hosts-file', command: ['hosts-file', '--hosts-path', podView], waitReady: false });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

const block = () => readFileSync(nodeHosts, 'utf8').slice(USER_LINES.length);

describe('hairpin-proxy hosts-file', () => {
  it(
    'writes each routed host with the hairpin Service\'s ClusterIP in one block, last, keeping the inode and every other line',
    withLogs(async () => {
      const inode = statSync(nodeHosts).ino;
      await waitFor(async () => (block().includes('shop.example.com') ? true : undefined), { timeoutMs: CONVERGE_MS, intervalMs: 200, what: 'the block in the node\'s hosts file' });
      const text = readFileSync(nodeHosts, 'utf8');
      expect(text.startsWith(USER_LINES)).toBe(true);
      expect(block()).toBe(`# BEGIN hairpin-proxy: managed by hairpin-proxy, edits here are overwritten\n${HAIRPIN_CLUSTER_IP} shop.example.com\n# END hairpin-proxy\n`);
      expect(statSync(nodeHosts).ino).toBe(inode);
      await hostsFile.waitForLog((line) => line.msg === 'not writing a host to the hosts file' && line.host === '*.apps.example.com', 'the wildcard left out, with its reason');
    }),
  );

  it(
    'follows the Ingresses',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'shop', hosts: ['shop.example.com', 'new.example.com'] }));
      await waitFor(async () => (block().includes('new.example.com') ? true : undefined), { timeoutMs: CONVERGE_MS, intervalMs: 200, what: 'new.example.com in the hosts file' });
      expect(readFileSync(nodeHosts, 'utf8').startsWith(USER_LINES)).toBe(true);
    }),
  );

  it(
    'removes its block when stopped (the DaemonSet deleted), leaving the file byte for byte as it was',
    withLogs(async () => {
      await hostsFile.stop();
      expect(readFileSync(nodeHosts, 'utf8')).toBe(USER_LINES);
    }),
  );
});
