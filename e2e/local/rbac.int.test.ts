/**
 * Least privilege, proven against a real apiserver with RBAC on: the controller does its whole
 * job as system:serviceaccount:hairpin-proxy:hairpin-proxy bound only by deploy/base/rbac.yaml
 * (the other suites add their modes' grants: e2e/harness/rbac.ts; this one also checks that no
 * request was refused), and `kubectl auth can-i` shows what that identity can and cannot do, with
 * the default flags and with each deploy/components mode. deploy/base passes a server-side dry
 * run, and its namespace really enforces the restricted Pod Security Standard.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  blockMentions,
  installDnsEndpointCrd,
  REPO_ROOT,
  cleanupAll,
  CONTROLLER_USER,
  ingress,
  installGatewayApiCrds,
  makeTmpDir,
  markerBlock,
  readCorefile,
  seedCluster,
  startControlPlane,
  startController,
  waitFor,
  withLogs,
  type ControlPlane,
  type ControllerProcess,
} from '../harness/index.js';
import { canI, readManifests, type Manifest } from '../harness/manifests.js';

let plane: ControlPlane;
let controller: ControllerProcess;

beforeAll(
  withLogs(async () => {
    const tmpDir = makeTmpDir('rbac');
    plane = await startControlPlane({ tmpDir, audit: true });
    await seedCluster(plane, { rbac: 'shipped' }); // deploy/base/rbac.yaml and nothing else that grants anything
    await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    // kubectl auth can-i resolves a resource through discovery: the Gateway API kinds must be served.
    await installGatewayApiCrds(plane, { channel: 'standard', kinds: ['Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute'] });
    controller = await startController({ controlPlane: plane, tmpDir });
  }),
  120_000,
);

afterAll(() => cleanupAll(), 60_000);

/** `kubectl auth can-i … --as=<controller>`: true for "yes" (exit 0), false for "no" (exit 1). */
function controllerCan(...args: string[]): Promise<boolean> {
  return canI(plane, CONTROLLER_USER, args);
}

describe('the controller identity', () => {
  it(
    'does its whole job with deploy/base/rbac.yaml, and nothing it asks for is refused',
    withLogs(async () => {
      await plane.apply(ingress({ name: 'shop', namespace: 'team-a', hosts: ['shop.example.com'] }));
      await waitFor(async () => blockMentions(markerBlock(await readCorefile(plane)), 'shop.example.com'), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'shop.example.com to be routed by the controller under its own identity',
      });

      const requests = plane.auditEvents().filter((e) => e.user.username === CONTROLLER_USER);
      const verbs = new Set(requests.map((e) => `${e.verb} ${e.objectRef?.resource ?? '?'}`));
      // It listed and watched what it needs, and wrote the ConfigMap and an Event.
      for (const expected of ['list ingresses', 'watch ingresses', 'list ingressclasses', 'list services', 'list configmaps', 'watch configmaps', 'patch configmaps', 'create events', 'get leases']) {
        expect(verbs).toContain(expected);
      }
      const refused = requests.filter((e) => e.responseStatus?.code === 401 || e.responseStatus?.code === 403);
      expect(refused.map((e) => `${e.verb} ${e.requestURI} → ${e.responseStatus?.code}`)).toEqual([]);
      expect(controller.logs().filter((line) => /forbidden/i.test(JSON.stringify(line)))).toEqual([]);
    }),
  );

  it(
    'can edit the CoreDNS ConfigMap and read what it watches',
    withLogs(async () => {
      for (const verb of ['get', 'patch']) expect(await controllerCan(verb, 'configmaps/coredns', '-n', 'kube-system')).toBe(true);
      expect(await controllerCan('update', 'configmaps/coredns', '-n', 'kube-system')).toBe(false); // it patches, never replaces
      // --coredns-mode custom: its own key of coredns-custom, which it may have to create.
      for (const verb of ['get', 'patch', 'delete']) expect(await controllerCan(verb, 'configmaps/coredns-custom', '-n', 'kube-system')).toBe(true);
      expect(await controllerCan('create', 'configmaps', '-n', 'kube-system')).toBe(true);
      // node-local-dns: its Corefile, where the cluster runs it.
      for (const verb of ['get', 'patch']) expect(await controllerCan(verb, 'configmaps/node-local-dns', '-n', 'kube-system')).toBe(true);
      for (const verb of ['list', 'watch']) expect(await controllerCan(verb, 'ingresses.networking.k8s.io', '--all-namespaces')).toBe(true);
      expect(await controllerCan('watch', 'ingressclasses.networking.k8s.io')).toBe(true);
      // The ingress controller's Service (by name) and EndpointSlices, and the hairpin HAProxy's slices: namespaced.
      expect(await controllerCan('watch', 'services/ingress-nginx-controller', '-n', 'ingress-nginx')).toBe(true);
      expect(await controllerCan('watch', 'endpointslices.discovery.k8s.io', '-n', 'ingress-nginx')).toBe(true);
      expect(await controllerCan('watch', 'endpointslices.discovery.k8s.io', '-n', 'hairpin-proxy')).toBe(true);
      expect(await controllerCan('create', 'events', '-n', 'team-a')).toBe(true);
      expect(await controllerCan('get', 'events', '-n', 'team-a')).toBe(true); // to continue an Event by its name
      // The Data Plane API password: its own Secret, created where missing.
      expect(await controllerCan('get', 'secrets/hairpin-proxy-dataplane', '-n', 'hairpin-proxy')).toBe(true);
      expect(await controllerCan('create', 'secrets', '-n', 'hairpin-proxy')).toBe(true);
      // Removal: its own Deployment, read; the cleanup identity in kube-system, by name where it can be.
      expect(await controllerCan('get', 'deployments.apps/hairpin-proxy', '-n', 'hairpin-proxy')).toBe(true);
      expect(await controllerCan('create', 'serviceaccounts/hairpin-proxy-cleanup', '--subresource=token', '-n', 'kube-system')).toBe(true);
      expect(await controllerCan('update', 'roles.rbac.authorization.k8s.io/hairpin-proxy-cleanup', '-n', 'kube-system')).toBe(true);
      expect(await controllerCan('delete', 'rolebindings.rbac.authorization.k8s.io/hairpin-proxy-cleanup', '-n', 'kube-system')).toBe(true);
    }),
  );

  it(
    'cannot touch any other ConfigMap, read Secrets, or change Ingresses',
    withLogs(async () => {
      expect(await controllerCan('update', 'configmaps/kube-proxy', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('get', 'configmaps/kube-proxy', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('list', 'configmaps', '-n', 'kube-system')).toBe(false); // only by name
      expect(await controllerCan('update', 'configmaps/coredns', '-n', 'default')).toBe(false);
      expect(await controllerCan('delete', 'configmaps/coredns', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('create', 'configmaps', '-n', 'default')).toBe(false);
      expect(await controllerCan('patch', 'configmaps/kube-proxy', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('get', 'secrets', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('list', 'secrets', '--all-namespaces')).toBe(false);
      expect(await controllerCan('update', 'ingresses.networking.k8s.io', '-n', 'team-a')).toBe(false);
      // Its own leader Lease only: not kube-system's, not another controller's.
      expect(await controllerCan('update', 'leases.coordination.k8s.io/hairpin-proxy', '-n', 'hairpin-proxy')).toBe(true);
      expect(await controllerCan('update', 'leases.coordination.k8s.io/other-controller', '-n', 'hairpin-proxy')).toBe(false);
      expect(await controllerCan('update', 'leases.coordination.k8s.io/kube-scheduler', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('patch', 'ingresses.networking.k8s.io/status', '-n', 'team-a')).toBe(false);
      expect(await controllerCan('get', 'ingresses.networking.k8s.io', '-n', 'team-a')).toBe(false); // list/watch only
      expect(await controllerCan('list', 'events', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('watch', 'events', '--all-namespaces')).toBe(false);
      expect(await controllerCan('create', 'services', '-n', 'team-a')).toBe(false);
      expect(await controllerCan('delete', 'services', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('patch', 'httproutes.gateway.networking.k8s.io', '-n', 'team-a')).toBe(false);
      expect(await controllerCan('update', 'gateways.gateway.networking.k8s.io/status', '-n', 'team-a')).toBe(false);
      // Nothing the default flags do not use: no events.k8s.io, no Services or slices cluster-wide,
      // no Gateway API, no managed Services, no DNSEndpoints, no other Secret, no other Deployment.
      expect(await controllerCan('create', 'events.events.k8s.io', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('watch', 'services', '--all-namespaces')).toBe(false);
      expect(await controllerCan('watch', 'services', '-n', 'team-a')).toBe(false);
      expect(await controllerCan('watch', 'endpointslices.discovery.k8s.io', '--all-namespaces')).toBe(false);
      expect(await controllerCan('watch', 'gateways.gateway.networking.k8s.io', '--all-namespaces')).toBe(false);
      expect(await controllerCan('create', 'services', '-n', 'hairpin-proxy')).toBe(false);
      expect(await controllerCan('list', 'dnsendpoints.externaldns.k8s.io', '-n', 'hairpin-proxy')).toBe(false);
      expect(await controllerCan('get', 'secrets/other', '-n', 'hairpin-proxy')).toBe(false);
      expect(await controllerCan('patch', 'deployments.apps/hairpin-proxy', '-n', 'hairpin-proxy')).toBe(false);
      expect(await controllerCan('create', 'serviceaccounts/coredns', '--subresource=token', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('delete', 'rolebindings.rbac.authorization.k8s.io/system:controller:bootstrap-signer', '-n', 'kube-system')).toBe(false);
      expect(await controllerCan('create', 'rolebindings.rbac.authorization.k8s.io', '-n', 'team-a')).toBe(false);
      expect(await controllerCan('patch', 'clusterrolebindings.rbac.authorization.k8s.io/cluster-admin')).toBe(false);
    }),
  );
});

describe('deploy/components: each mode adds exactly its grants', () => {
  /** The RBAC objects an overlay of deploy/base with these components renders, applied for real. */
  async function applyRbacOf(components: readonly string[]): Promise<Manifest[]> {
    const dir = makeTmpDir('rbac-overlay');
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      JSON.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [relative(dir, join(REPO_ROOT, 'deploy', 'base'))], components: components.map((c) => relative(dir, join(REPO_ROOT, 'deploy', 'components', c))) }),
    );
    const rbac = readManifests((await plane.kubectl(['kustomize', dir])).stdout).filter((o) => o.apiVersion.startsWith('rbac.authorization.k8s.io/'));
    await plane.apply(rbac);
    return rbac;
  }

  it(
    'targets: Gateway API reads everywhere and the per-upstream hairpin Services in its own namespace, nothing more',
    withLogs(async () => {
      await applyRbacOf(['targets']);
      for (const kind of ['gateways', 'httproutes', 'grpcroutes', 'tlsroutes']) expect(await controllerCan('watch', `${kind}.gateway.networking.k8s.io`, '--all-namespaces')).toBe(true);
      for (const verb of ['get', 'list', 'create', 'patch', 'delete']) expect(await controllerCan(verb, 'services', '-n', 'hairpin-proxy')).toBe(true);
      expect(await controllerCan('create', 'services', '-n', 'team-a')).toBe(false);
      expect(await controllerCan('patch', 'httproutes.gateway.networking.k8s.io', '-n', 'team-a')).toBe(false);
      await applyRbacOf([]);
      expect(await controllerCan('watch', 'gateways.gateway.networking.k8s.io', '--all-namespaces')).toBe(false);
    }),
  );

  it(
    'external-dns: DNSEndpoints in its own namespace; corefile: and neither mode keeps the coredns-custom or node-local-dns grants',
    withLogs(async () => {
      // Served only now: the controller asks discovery, never a refused list, where it is not (the test above).
      await installDnsEndpointCrd(plane);
      const external = await applyRbacOf(['external-dns']);
      for (const verb of ['list', 'create', 'patch', 'delete']) expect(await controllerCan(verb, 'dnsendpoints.externaldns.k8s.io', '-n', 'hairpin-proxy')).toBe(true);
      expect(await controllerCan('list', 'dnsendpoints.externaldns.k8s.io', '-n', 'team-a')).toBe(false);
      const corefile = await applyRbacOf(['coredns-corefile']);
      for (const rendered of [external, corefile]) {
        const names = rendered.map((o) => o.metadata.name);
        expect(names).not.toContain('hairpin-proxy-coredns-custom');
        expect(names).not.toContain('hairpin-proxy-node-local-dns');
        expect(names).toContain('hairpin-proxy-coredns');
      }
      await applyRbacOf([]);
    }),
  );
});

describe('deploy/base', () => {
  it(
    'passes a server-side dry run, and its namespace enforces the restricted Pod Security Standard',
    withLogs(async () => {
      const dryRun = await plane.kubectl(['apply', '--dry-run=server', '-k', 'deploy/base']);
      for (const object of ['namespace/hairpin-proxy', 'serviceaccount/hairpin-proxy', 'clusterrole.rbac.authorization.k8s.io/hairpin-proxy', 'role.rbac.authorization.k8s.io/hairpin-proxy-coredns']) {
        expect(dryRun.stdout).toContain(object);
      }
      expect(dryRun.stdout).toContain('(server dry run)');

      // Applied for real, the namespace label makes PodSecurity admission refuse a privileged Pod.
      await plane.kubectl(['apply', '-k', 'deploy/base']);
      const privileged = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'privileged', namespace: 'hairpin-proxy' },
        spec: { containers: [{ name: 'c', image: 'example.invalid/c', securityContext: { privileged: true } }] },
      };
      const refused = await plane.kubectl(['create', '--dry-run=server', '-f', '-'], { input: privileged, allowFail: true });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/violates PodSecurity "restricted/);
    }),
  );
});
