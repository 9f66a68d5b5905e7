/**
 * The Data Plane API password with no manual step, against a real apiserver and real HAProxy + Data
 * Plane API processes:
 *  - the controller creates the Secret with a random password where it is missing, and an API
 *    started from it (as a HAProxy pod starts once the Secret exists) is configured;
 *  - rotation as deploy/README.md gives it: the Secret changes, a new replica starts with the new
 *    password and is configured, while the old replica keeps its configuration (no downtime).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cleanupAll,
  dataplaneTools,
  freePort,
  makeTmpDir,
  seedCluster,
  startControlPlane,
  startController,
  startDataplane,
  waitFor,
  withLogs,
  type ControllerProcess,
  type ControlPlane,
  type LocalDataplane,
} from '../harness/index.js';

const tools = await dataplaneTools();
const SECRET = 'hairpin-proxy-dataplane';
const NGINX = { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' };

let plane: ControlPlane;
let tmpDir: string;
let controller: ControllerProcess;
let ports: { a: number; b: number };
let oldReplica: LocalDataplane;
let firstPassword: string;

async function secretPassword(): Promise<string | undefined> {
  const { code, stdout } = await plane.kubectl(['-n', 'hairpin-proxy', 'get', 'secret', SECRET, '-o', 'jsonpath={.data.password}'], { allowFail: true });
  return code === 0 && stdout !== '' ? Buffer.from(stdout, 'base64').toString('utf8') : undefined;
}

/** The replica has the controller's frontends: it was configured. */
async function configured(replica: LocalDataplane, password: string): Promise<boolean> {
  const snapshot = await replica.client({ password, maxAttempts: 1 }).snapshot().catch(() => undefined);
  return (snapshot?.frontends.length ?? 0) > 0;
}

(tools.ok ? describe : describe.skip)(`the Data Plane API password${tools.ok ? '' : ` (skipped: ${tools.reason})`}`, () => {
  beforeAll(
    withLogs(async () => {
      tmpDir = makeTmpDir('dataplane-secret');
      plane = await startControlPlane({ tmpDir });
      await seedCluster(plane);
      await plane.apply([
        { apiVersion: 'v1', kind: 'Service', metadata: NGINX, spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } },
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: `${NGINX.name}-e2e`, namespace: NGINX.namespace, labels: { 'kubernetes.io/service-name': NGINX.name, 'endpointslice.kubernetes.io/managed-by': 'e2e' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.245.0.2'], conditions: { ready: true } }],
          ports: [
            { name: 'http', port: 80, protocol: 'TCP' },
            { name: 'https', port: 443, protocol: 'TCP' },
          ],
        },
      ]);
      ports = { a: await freePort(), b: await freePort() };
      // Both replicas' URLs from the start, as discovery would list a pod before it serves.
      controller = await startController({
        controlPlane: plane,
        tmpDir,
        dataplanePassword: null,
        dataplaneUrls: [`http://127.0.0.1:${ports.a}/v3`, `http://127.0.0.1:${ports.b}/v3`],
      });
    }),
    120_000,
  );

  afterAll(() => cleanupAll(), 60_000);

  it(
    'is created by the controller where missing, random, and a replica started from it is configured',
    withLogs(async () => {
      firstPassword = await waitFor(() => secretPassword(), { timeoutMs: 30_000, what: `the controller to create Secret hairpin-proxy/${SECRET}` });
      expect(firstPassword).toMatch(/^[0-9a-f]{48}$/);
      oldReplica = await startDataplane({ tmpDir, name: 'old', port: ports.a, password: firstPassword });
      await waitFor(() => configured(oldReplica, firstPassword), { timeoutMs: 60_000, intervalMs: 500, what: 'the controller to configure the replica' });
    }),
    120_000,
  );

  it(
    'rotates with no downtime: a new replica with the new password is configured, the old one keeps serving its configuration',
    withLogs(async () => {
      const rotated = randomBytes(24).toString('hex');
      await plane.kubectl(['-n', 'hairpin-proxy', 'patch', 'secret', SECRET, '-p', JSON.stringify({ stringData: { password: rotated } })]);
      const fresh = await startDataplane({ tmpDir, name: 'new', port: ports.b, password: rotated });
      await waitFor(() => configured(fresh, rotated), { timeoutMs: 60_000, intervalMs: 500, what: 'the controller to configure the new replica with the new password' });
      await controller.waitForLog((line) => line.msg.includes('password changed'), 'the controller to pick up the new password');
      // The old replica refuses the new password, and still has what it was configured with.
      expect(await configured(oldReplica, firstPassword)).toBe(true);
      expect(await configured(oldReplica, rotated)).toBe(false);
    }),
    120_000,
  );
});
