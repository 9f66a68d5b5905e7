/**
 * Install manifests checked against the harness's apiserver: parsing rendered YAML, a clean
 * server-side dry run, each pod template admitted as a Pod (PodSecurity's enforce path, which a
 * Deployment only warns about), and `kubectl auth can-i` for an identity. Used for the Helm chart
 * (e2e/local/helm-chart.int.test.ts), the same checks deploy/ passes in e2e/local/deploy.int.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane, KubectlResult } from './controlplane.js';
import { REPO_ROOT } from './tools.js';

/** A Kubernetes object as rendered YAML holds it: the fields these checks read, the rest loose. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown> & { template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> } };
  [field: string]: unknown;
}

/** Every object of a multi-document YAML text (empty documents, as `helm template` leaves, dropped). */
export function readManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((object): object is Manifest => object !== null && typeof object === 'object');
}

/** `kind/name` or `kind/namespace/name`: how failures name an object. */
export function manifestId(object: Pick<Manifest, 'kind' | 'metadata'>): string {
  return [object.kind, object.metadata.namespace, object.metadata.name].filter(Boolean).join('/');
}

/** What `kubectl apply --dry-run=server` prints for an object: `deployment.apps/NAME`, `service/NAME`. */
export function dryRunName(object: Manifest): string {
  const group = object.apiVersion.includes('/') ? `.${object.apiVersion.split('/')[0]}` : '';
  return `${object.kind.toLowerCase()}${group}/${object.metadata.name}`;
}

/**
 * `kubectl apply --dry-run=server` of objects (sent as a List) or of `-f`/`-k` arguments. Returns
 * what a test compares: exit code, stderr (warnings land there, PodSecurity's included), and the
 * stdout lines that do not end in "(server dry run)".
 */
export async function serverDryRun(plane: ControlPlane, source: readonly Manifest[] | readonly string[]): Promise<KubectlResult & { readonly notDryRun: string[] }> {
  const objects = source.length > 0 && typeof source[0] === 'object';
  const result = objects
    ? await plane.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: { apiVersion: 'v1', kind: 'List', items: source }, allowFail: true })
    : await plane.kubectl(['apply', '--dry-run=server', ...(source as readonly string[])], { allowFail: true });
  const notDryRun = result.stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('(server dry run)'));
  return { ...result, notDryRun };
}

/** A Pod made from a workload's pod template, in the workload's namespace (or `namespace`). */
export function podFromTemplate(workload: Manifest, options: { namespace?: string; mutate?: (spec: Record<string, unknown>) => void } = {}): Manifest {
  const template = workload.spec?.template;
  if (!template) throw new Error(`${manifestId(workload)} has no pod template`);
  const spec = structuredClone(template.spec);
  options.mutate?.(spec);
  const namespace = options.namespace ?? workload.metadata.namespace;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pss-${workload.metadata.name}`, ...(namespace ? { namespace } : {}), labels: template.metadata?.labels ?? {} },
    spec,
  };
}

/** `kubectl create --dry-run=server` of a Pod: PodSecurity refuses it outright where it would only warn about a Deployment. */
export function createPodDryRun(plane: ControlPlane, pod: Manifest): Promise<KubectlResult> {
  return plane.kubectl(['create', '--dry-run=server', '-f', '-'], { input: pod, allowFail: true });
}

/** `kubectl auth can-i ARGS --as=USER`: true for "yes" (exit 0), false for "no" (exit 1); anything else throws. */
export async function canI(plane: ControlPlane, user: string, args: readonly string[]): Promise<boolean> {
  const { code, stdout, stderr } = await plane.kubectl(['auth', 'can-i', ...args, `--as=${user}`], { allowFail: true });
  const answer = stdout.trim();
  if ((code === 0 && answer === 'yes') || (code === 1 && answer === 'no')) return code === 0;
  throw new Error(`kubectl auth can-i ${args.join(' ')} --as=${user} exited ${code} (${JSON.stringify(answer)}): ${stderr}`);
}

/**
 * Where two objects differ, one line per field: `spec.template.spec.containers[1].args[3]: "170" ≠ "180"`
 * (left ≠ right; "absent" for a missing field). Empty when they are equal.
 */
export function fieldDifferences(left: unknown, right: unknown, path = ''): string[] {
  const show = (value: unknown) => (value === undefined ? 'absent' : JSON.stringify(value));
  if (Array.isArray(left) && Array.isArray(right)) {
    return Array.from({ length: Math.max(left.length, right.length) }, (_, i) => fieldDifferences(left[i], right[i], `${path}[${i}]`)).flat();
  }
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (isObject(left) && isObject(right)) {
    const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
    return keys.flatMap((key) => fieldDifferences(left[key], right[key], path ? `${path}.${key}` : key));
  }
  return JSON.stringify(left) === JSON.stringify(right) ? [] : [`${path || '(whole object)'}: ${show(left)} ≠ ${show(right)}`];
}

/**
 * `kubectl kustomize` of an overlay of deploy/base with these deploy/components (written to a temp
 * dir under `tmpDir`): the objects deploy/ installs in that mode.
 */
export async function kustomizeBaseWith(plane: ControlPlane, tmpDir: string, components: readonly string[]): Promise<Manifest[]> {
  const dir = mkdtempSync(join(tmpDir, 'overlay-'));
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [relative(dir, join(REPO_ROOT, 'deploy', 'base'))],
    components: components.map((c) => relative(dir, join(REPO_ROOT, 'deploy', 'components', c))),
  };
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(kustomization));
  return readManifests((await plane.kubectl(['kustomize', dir])).stdout);
}
