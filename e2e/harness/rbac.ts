/**
 * The controller's RBAC for the suites: deploy/base/rbac.yaml as shipped, plus what the suites'
 * other modes need: the rules deploy/components/{targets,external-dns} add (read from those files,
 * not copied), and reads of Services and EndpointSlices in any namespace, because suites put their
 * upstreams wherever their story wants them (deploy/ grants those per namespace). Exactly what
 * each configuration gets, and no more, is e2e/local/rbac.int.test.ts's business.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT, type ControlPlane } from './controlplane.js';
import { REPO_ROOT } from './tools.js';

type Rule = Record<string, unknown>;
interface ComponentPatch {
  readonly target?: { kind?: string; name?: string };
  readonly patch: string;
}

/** The rules a kustomize component adds to the controller's ClusterRole and its namespace's Role. */
export function componentRules(component: string): { cluster: Rule[]; namespaced: Rule[] } {
  const file = join(REPO_ROOT, 'deploy', 'components', component, 'kustomization.yaml');
  const { patches = [] } = parse(readFileSync(file, 'utf8')) as { patches?: ComponentPatch[] };
  const added = (kind: string) =>
    patches
      .filter((p) => p.target?.kind === kind && p.target.name === 'hairpin-proxy')
      .flatMap((p) => (parse(p.patch) as Array<{ op: string; path: string; value: Rule }>).filter((op) => op.op === 'add' && op.path === '/rules/-').map((op) => op.value));
  return { cluster: added('ClusterRole'), namespaced: added('Role') };
}

const NAME = 'hairpin-proxy-test-suites';
const subjects = [{ kind: 'ServiceAccount', name: CONTROLLER_SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE }];

export async function applyControllerRbac(plane: ControlPlane, grants: 'shipped' | 'suites'): Promise<void> {
  // deploy/base grants the default ingress controller's namespace: it must exist first.
  await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ingress-nginx' } });
  await plane.apply(readFileSync(join(REPO_ROOT, 'deploy/base/rbac.yaml'), 'utf8'));
  if (grants === 'shipped') return;
  const modes = ['targets', 'external-dns'].map(componentRules);
  const anywhere: Rule[] = [
    { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ];
  await plane.apply([
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: NAME }, rules: [...modes.flatMap((m) => m.cluster), ...anywhere] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: NAME }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME }, subjects },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: NAME, namespace: CONTROLLER_NAMESPACE }, rules: modes.flatMap((m) => m.namespaced) },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: NAME, namespace: CONTROLLER_NAMESPACE }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME }, subjects },
  ]);
}
