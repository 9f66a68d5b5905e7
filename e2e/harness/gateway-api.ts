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

/** The parts of a CustomResourceDefinition the harness reads. */
export interface Crd {
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
  await installCrds(plane, crds);
}

/**
 * Applies CRDs server-side (the field manager `e2e`), then waits until each is Established and
 * every version it serves answers a list (60 s each at most).
 */
export async function installCrds(plane: ControlPlane, crds: readonly Crd[]): Promise<void> {
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

export const GATEWAY_API = 'gateway.networking.k8s.io/v1';

export interface GatewaySpec {
  readonly namespace: string;
  readonly name: string;
  readonly className: string;
  /** Listener hostnames; one HTTP listener per entry (undefined: no hostname). */
  readonly hostnames?: ReadonlyArray<string | undefined>;
}

/** A Gateway with HTTP listeners on port 80 that accept routes from every namespace. */
export function gateway(spec: GatewaySpec): object {
  return {
    apiVersion: GATEWAY_API,
    kind: 'Gateway',
    metadata: { name: spec.name, namespace: spec.namespace },
    spec: {
      gatewayClassName: spec.className,
      listeners: (spec.hostnames ?? [undefined]).map((hostname, index) => ({
        name: `http-${index}`,
        protocol: 'HTTP',
        port: 80,
        ...(hostname ? { hostname } : {}),
        allowedRoutes: { namespaces: { from: 'All' } },
      })),
    },
  };
}

export interface HttpRouteSpec {
  /** HTTPRoute unless told; a GRPCRoute has the same parts. */
  readonly kind?: 'HTTPRoute' | 'GRPCRoute';
  readonly namespace: string;
  readonly name: string;
  readonly gateway: { readonly namespace: string; readonly name: string };
  readonly hostnames: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export function httpRoute(spec: HttpRouteSpec): object {
  return {
    apiVersion: GATEWAY_API,
    kind: spec.kind ?? 'HTTPRoute',
    metadata: { name: spec.name, namespace: spec.namespace, ...(spec.annotations ? { annotations: spec.annotations } : {}) },
    spec: {
      parentRefs: [{ name: spec.gateway.name, namespace: spec.gateway.namespace }],
      hostnames: [...spec.hostnames],
      rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
    },
  };
}

/**
 * What a Gateway controller writes once it has taken a route: status.parents with Accepted. The
 * list is atomic, so this replaces any other parent's entry (tests own every route they patch).
 */
export async function setRouteAccepted(plane: ControlPlane, route: { kind: string; namespace: string; name: string; gateway: { namespace: string; name: string } }, accepted: boolean): Promise<void> {
  const status = {
    parents: [
      {
        parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: route.gateway.namespace, name: route.gateway.name },
        controllerName: 'example.com/e2e-gateway-controller',
        conditions: [
          {
            type: 'Accepted',
            status: accepted ? 'True' : 'False',
            reason: accepted ? 'Accepted' : 'NotAllowedByListeners',
            message: accepted ? 'accepted by the e2e' : 'refused by the e2e',
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    ],
  };
  await plane.kubectl(['patch', route.kind.toLowerCase(), route.name, '-n', route.namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}
