/**
 * The Gateway API CRDs in the real test apiserver: the YAML of sigs.k8s.io/gateway-api at
 * GATEWAY_API_VERSION (hack/versions.env), as `hack/tools path gateway-api-crds` copies it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane } from './controlplane.js';
import { waitFor } from './processes.js';
import { toolPath } from './tools.js';

export type GatewayApiChannel = 'standard' | 'experimental';

export interface GatewayApiCrdOptions {
  readonly channel: GatewayApiChannel;
  /** Only the CRDs of these kinds (spec.names.kind), e.g. ['Gateway', 'HTTPRoute']; all when absent. */
  readonly kinds?: readonly string[];
}

interface Crd {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly group: string;
    readonly names: { readonly kind: string; readonly plural: string };
    readonly versions: ReadonlyArray<{ readonly name: string; readonly served: boolean }>;
  };
  readonly status?: { readonly conditions?: ReadonlyArray<{ readonly type: string; readonly status: string }> };
}

/** The channel's files that hold a CustomResourceDefinition (absolute paths, sorted). */
export async function gatewayApiCrdFiles(channel: GatewayApiChannel): Promise<string[]> {
  const dir = join(await toolPath('gateway-api-crds'), channel);
  const files: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.yaml')).sort()) {
    const file = join(dir, name);
    // The channel also has a ValidatingAdmissionPolicy file and (experimental) a kustomization.
    if (/^kind: CustomResourceDefinition$/m.test(await readFile(file, 'utf8'))) files.push(file);
  }
  return files;
}

/**
 * Applies the channel's CRDs (server-side: the largest is ~0.5 MB, far over the 256 KB limit of
 * client-side apply's last-applied annotation), then waits until each is Established and every
 * version it serves answers a list. The channel's ValidatingAdmissionPolicy, which refuses
 * experimental CRDs over standard ones, is not applied: a suite may install either channel.
 */
export async function installGatewayApiCrds(plane: ControlPlane, options: GatewayApiCrdOptions): Promise<void> {
  const crds: Crd[] = [];
  for (const file of await gatewayApiCrdFiles(options.channel)) {
    for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
      const object = document.toJS() as Crd | null;
      if (object?.kind !== 'CustomResourceDefinition') continue;
      if (options.kinds && !options.kinds.includes(object.spec.names.kind)) continue;
      crds.push(object);
    }
  }
  const missing = (options.kinds ?? []).filter((kind) => !crds.some((crd) => crd.spec.names.kind === kind));
  if (missing.length > 0) throw new Error(`the ${options.channel} Gateway API CRDs have no kind ${missing.join(', ')}`);

  await plane.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=e2e', '-f', '-'], {
    input: { apiVersion: 'v1', kind: 'List', items: crds },
    timeoutMs: 120_000,
  });
  await Promise.all(
    crds.map(async (crd) => {
      await waitFor(
        async () =>
          (await plane.getJson<Crd>(['customresourcedefinition', crd.metadata.name])).status?.conditions?.some(
            (c) => c.type === 'Established' && c.status === 'True',
          ),
        { timeoutMs: 60_000, intervalMs: 200, what: `CRD ${crd.metadata.name} to be Established` },
      );
      // Established is the CRD's status; the handler that serves it can lag behind.
      for (const { name: version } of crd.spec.versions.filter((v) => v.served)) {
        const resource = `${crd.spec.names.plural}.${version}.${crd.spec.group}`;
        await waitFor(async () => (await plane.kubectl(['get', resource, '--all-namespaces', '-o', 'name'], { allowFail: true })).code === 0, {
          timeoutMs: 60_000,
          intervalMs: 200,
          what: `${resource} to be served`,
        });
      }
    }),
  );
}
