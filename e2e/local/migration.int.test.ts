/**
 * The move from the original Ruby hairpin-proxy (compumike/hairpin-proxy's deploy.yml), as
 * docs/migration.md tells it, against a real apiserver:
 *  - our deploy.yml applies over the original's objects: no name of ours is one of its names
 *    (with the old name of our HAProxy Deployment it would fail, on its immutable selector);
 *  - doctor reports the original's still-running controller, and the lines it wrote;
 *  - after the original's objects are deleted as the doc says, our controller removes every
 *    "# Added by hairpin-proxy" line and routes the hosts itself; doctor is quiet about it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  blockMentions,
  cleanupAll,
  ingress,
  makeTmpDir,
  markerBlock,
  readCorefile,
  REPO_ROOT,
  runCli,
  seedCluster,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  writeCorefile,
  type ControlPlane,
} from '../harness/index.js';

const HOST = 'shop.example.com';
const LEGACY_LINE = `    rewrite name ${HOST} hairpin-proxy.hairpin-proxy.svc.cluster.local # Added by hairpin-proxy\n`;

/** The original's objects, named and selected as its deploy.yml (v0.2.1) has them. */
function originalObjects(): object[] {
  const app = (name: string) => ({ app: name });
  const rbac = 'rbac.authorization.k8s.io/v1';
  const subject = [{ kind: 'ServiceAccount', name: 'hairpin-proxy-controller-sa', namespace: 'hairpin-proxy' }];
  const deployment = (name: string, image: string, serviceAccountName?: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'hairpin-proxy', labels: app(name) },
    spec: { replicas: 1, selector: { matchLabels: app(name) }, template: { metadata: { labels: app(name) }, spec: { ...(serviceAccountName ? { serviceAccountName } : {}), containers: [{ name: 'main', image }] } } },
  });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hairpin-proxy' } },
    deployment('hairpin-proxy-haproxy', 'compumike/hairpin-proxy-haproxy:0.2.1'),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hairpin-proxy', namespace: 'hairpin-proxy' }, spec: { selector: app('hairpin-proxy-haproxy'), ports: [{ name: 'http', port: 80, targetPort: 80 }, { name: 'https', port: 443, targetPort: 443 }] } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'hairpin-proxy-controller-sa', namespace: 'hairpin-proxy' } },
    { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'hairpin-proxy-controller-cr' }, rules: [{ apiGroups: ['extensions', 'networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] }] },
    { apiVersion: rbac, kind: 'ClusterRoleBinding', metadata: { name: 'hairpin-proxy-controller-crb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'hairpin-proxy-controller-cr' }, subjects: subject },
    { apiVersion: rbac, kind: 'Role', metadata: { name: 'hairpin-proxy-controller-r', namespace: 'kube-system' }, rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['coredns'], verbs: ['get', 'watch', 'update'] }] },
    { apiVersion: rbac, kind: 'RoleBinding', metadata: { name: 'hairpin-proxy-controller-rb', namespace: 'kube-system' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'hairpin-proxy-controller-r' }, subjects: subject },
    deployment('hairpin-proxy-controller', 'compumike/hairpin-proxy-controller:0.2.1', 'hairpin-proxy-controller-sa'),
  ];
}

/** docs/migration.md's step 1: the original's controller stops writing (its lines keep working meanwhile). */
const STOP_ORIGINAL = ['-n', 'hairpin-proxy', 'delete', 'deployment', 'hairpin-proxy-controller'];
/** docs/migration.md's step 3, command for command. */
const DELETE_ORIGINAL = [
  ['-n', 'hairpin-proxy', 'delete', 'deployment', 'hairpin-proxy-haproxy'],
  ['-n', 'hairpin-proxy', 'delete', 'service', 'hairpin-proxy'],
  ['-n', 'hairpin-proxy', 'delete', 'serviceaccount', 'hairpin-proxy-controller-sa'],
  ['delete', 'clusterrolebinding', 'hairpin-proxy-controller-crb'],
  ['delete', 'clusterrole', 'hairpin-proxy-controller-cr'],
  ['-n', 'kube-system', 'delete', 'rolebinding', 'hairpin-proxy-controller-rb'],
  ['-n', 'kube-system', 'delete', 'role', 'hairpin-proxy-controller-r'],
];

let plane: ControlPlane;
let tmpDir: string;

interface Finding {
  check: string;
  severity: string;
  message: string;
}
async function legacyFindings(): Promise<Finding[]> {
  const run = await runCli(['doctor', '--kubeconfig', plane.adminKubeconfigPath, '--output', 'json'], 45_000);
  const report = JSON.parse(run.stdout) as { findings: Finding[] };
  return report.findings.filter((f) => f.check === 'legacy-controller' && f.severity !== 'ok');
}

beforeAll(
  withLogs(async () => {
    tmpDir = makeTmpDir('migration');
    plane = await startControlPlane({ tmpDir });
    await seedCluster(plane);
    await plane.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, ingress({ name: 'shop', namespace: 'shop', hosts: [HOST] })]);
    // The original has been running: its objects exist, and its line is in the Corefile.
    await plane.apply(originalObjects());
    await writeCorefile(plane, (await readCorefile(plane)).replace('    errors\n', `    errors\n${LEGACY_LINE}`));
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

describe('moving from the original Ruby hairpin-proxy', () => {
  it(
    'our deploy.yml applies over its objects; with our HAProxy Deployment under its old name it would not',
    withLogs(async () => {
      const applied = await plane.kubectl(['apply', '--dry-run=server', '-f', 'deploy/deploy.yml'], { allowFail: true });
      expect(applied.code).toBe(0);
      // (Warnings only: the suites' harness created some of our objects without kubectl apply.)
      expect(applied.stderr.split('\n').filter((line) => line !== '' && !line.includes('last-applied-configuration annotation'))).toEqual([]);
      // The control: the name this project used before collides on the original's immutable selector.
      const ours = parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy', 'deploy.yml'), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
      const haproxy = ours.find((o) => o.kind === 'Deployment' && o.metadata.name === 'hairpin-haproxy');
      const renamed = { ...haproxy, metadata: { ...haproxy?.metadata, name: 'hairpin-proxy-haproxy' } };
      const collision = await plane.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: renamed, allowFail: true });
      expect(collision.code).not.toBe(0);
      expect(collision.stderr).toMatch(/field is immutable/);
    }),
  );

  it(
    'doctor reports the original controller still running, and the lines it wrote',
    withLogs(async () => {
      const findings = await legacyFindings();
      expect(findings.map((f) => f.message).join('\n')).toMatch(/Deployment hairpin-proxy\/hairpin-proxy-controller \(compumike\/hairpin-proxy-controller:0\.2\.1\)/);
      expect(findings.map((f) => f.message).join('\n')).toMatch(/1 line ending with "# Added by hairpin-proxy"/);
    }),
  );

  it(
    "done as the doc says, our controller takes over in one write: the legacy line is gone, the host routed, doctor quiet",
    withLogs(async () => {
      await plane.kubectl([...STOP_ORIGINAL, '--wait=false']);
      const controller = await startController({ controlPlane: plane, tmpDir });
      const corefile = await waitFor(
        async () => {
          const text = await readCorefile(plane);
          return blockMentions(markerBlock(text), HOST) && !text.includes('# Added by hairpin-proxy') ? text : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'our block to route the host and the legacy line to be gone' },
      );
      expect(corefile).not.toContain(LEGACY_LINE.trim());
      // One write replaced the original's line with our block: no moment without a route.
      expect(await controller.writesTotal()).toBe(1);
      for (const args of DELETE_ORIGINAL) await plane.kubectl([...args, '--wait=false']);
      expect(await legacyFindings()).toEqual([]);
      await controller.stop();
    }),
  );
});
