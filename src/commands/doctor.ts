import { parseArgs } from 'node:util';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { loadConfig, type Config } from '../config.js';
import { apiserverOf, loadKubeConfig, makeApis, type KubeApis } from '../kube/client.js';
import { KubeError } from '../kube/errors.js';
import { GATEWAY_API_KINDS, listGatewayApiKind } from '../kube/gateway-api.js';
import { kubeCall } from '../kube/request.js';
import type { EndpointSliceLike, GatewayLike, RouteLike, ServiceLike } from '../model/objects.js';
import { routePolicyOf } from '../plan/routes.js';
import { resolveUpstreams } from '../plan/upstreams.js';
import {
  controllerUser,
  diagnose,
  INGRESS_NGINX_CONFIGMAP,
  isHealthy,
  KUBE_DNS,
  NODE_LOCAL_DNS_CONFIGMAP,
  requiredPermissions,
  resolvedMode,
  type ConfigMapView,
  type DoctorSnapshot,
  type Finding,
  type Permission,
  type UpstreamView,
} from './doctor-checks.js';
import { UsageError, type CommandIO } from './io.js';

export const DOCTOR_USAGE = `hairpin-proxy doctor [run's flags] [--output text|json]
  Reads the cluster (never writes) and prints what stands between it and working hairpin DNS,
  each finding with a fix. Exit 0: healthy; 1: problems found; 2: could not check.`;

/** The whole doctor, every apiserver call included, ends within this. */
export const DOCTOR_DEADLINE_MS = 30_000;

const OWN_FLAGS = { output: { type: 'string', short: 'o', default: 'text' } } as const;

export interface DoctorDeps {
  /** Reads the cluster; by default through the kubeconfig of --kubeconfig. */
  readonly read?: (config: Config, signal: AbortSignal) => Promise<DoctorSnapshot>;
  /** Where the reads go, for messages. */
  readonly apiserver?: string;
  readonly deadlineMs?: number;
}

/** Exit 0 healthy, 1 problems found, 2 could not check (bad flags throw UsageError/ConfigError: the CLI exits 2). */
export async function doctorCommand(argv: readonly string[], io: CommandIO, env: Readonly<Record<string, string | undefined>>, deps: DoctorDeps = {}): Promise<number> {
  const { values, tokens } = parseArgs({ args: [...argv], options: OWN_FLAGS, strict: false, tokens: true });
  const own = new Set(tokens.filter((t) => t.kind === 'option' && t.name in OWN_FLAGS).flatMap((t) => (t.kind === 'option' ? [t.index, ...(t.inlineValue === false ? [t.index + 1] : [])] : [])));
  const config = loadConfig(argv.filter((_, index) => !own.has(index)), env);
  if (values.output !== 'json' && values.output !== 'text') throw new UsageError(`--output must be text or json, not ${JSON.stringify(values.output)}`);
  const deadlineMs = deps.deadlineMs ?? DOCTOR_DEADLINE_MS;
  let apiserver = deps.apiserver ?? '(unknown)';
  let read = deps.read;
  if (!read) {
    try {
      const kubeConfig = loadKubeConfig(config.kubeconfig);
      apiserver = apiserverOf(kubeConfig);
      const apis = makeApis(kubeConfig);
      read = (c, signal) => readDoctorSnapshot(apis, c, signal);
    } catch (error) {
      io.stderr(`hairpin-proxy doctor: could not check: no usable kubeconfig: ${error instanceof Error ? error.message : String(error)}\n`);
      return 2;
    }
  }
  const signal = AbortSignal.timeout(deadlineMs);
  let snapshot: DoctorSnapshot;
  try {
    snapshot = await untilAborted(read(config, signal), signal);
  } catch (error) {
    const why = signal.aborted
      ? `the apiserver ${apiserver} did not answer within ${deadlineMs / 1000} s`
      : error instanceof KubeError && error.kind === 'Unavailable' && error.status === undefined
        ? `the apiserver ${apiserver} did not answer (${error.message})`
        : `${error instanceof Error ? error.message : String(error)} (apiserver ${apiserver})`;
    io.stderr(`hairpin-proxy doctor: could not check: ${why}\n`);
    return 2;
  }
  const findings = diagnose(snapshot, config);
  const healthy = isHealthy(findings);
  io.stdout(values.output === 'json' ? `${JSON.stringify({ healthy, findings: findings.map(({ check, severity, message, fix }) => ({ check, severity, message, fix })) })}\n` : text(findings));
  return healthy ? 0 : 1;
}

export function text(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.severity.padEnd(7)} ${f.check.padEnd(17)} ${f.message}\n${f.fix === null ? '' : `  fix: ${f.fix}\n`}`).join('');
}

/** The read, or a rejection the moment the deadline passes, whatever the read is doing. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('deadline passed'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** undefined for NotFound; every other failure is thrown. */
async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof KubeError && error.kind === 'NotFound') return undefined;
    throw error;
  }
}

function viewOf(configMap: V1ConfigMap | undefined): ConfigMapView | undefined {
  return configMap === undefined ? undefined : { data: configMap.data ?? {}, labels: configMap.metadata?.labels ?? {} };
}

/** Every read doctor makes: gets, lists and SubjectAccessReviews (a read-style create). Nothing is written. */
export async function readDoctorSnapshot(apis: KubeApis, config: Config, signal: AbortSignal): Promise<DoctorSnapshot> {
  const configMap = (namespace: string, name: string) =>
    unlessNotFound(kubeCall(`read ConfigMap ${namespace}/${name}`, signal, (o) => apis.core.readNamespacedConfigMap({ namespace, name }, o)));
  const service = (namespace: string, name: string) =>
    unlessNotFound(kubeCall(`read Service ${namespace}/${name}`, signal, (o) => apis.core.readNamespacedService({ namespace, name }, o))) as Promise<ServiceLike | undefined>;
  const slices = async (namespace: string, name: string) =>
    (await kubeCall(`list EndpointSlices of ${namespace}/${name}`, signal, (o) => apis.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${name}` }, o)))
      .items as EndpointSliceLike[];
  const dns = config.corednsNamespace;
  const policy = routePolicyOf(config);
  const upstreamRefs = resolveUpstreams(policy.mode, [], policy.hairpin);

  const [coredns, custom, nodeLocal, ingresses, ingressClasses, gatewayApi, upstreams, hairpinService, hairpinSlices, deployments] = await Promise.all([
    configMap(dns, config.corednsConfigMap),
    configMap(dns, config.corednsCustomConfigMap),
    config.nodeLocalDns === 'auto' ? configMap(dns, NODE_LOCAL_DNS_CONFIGMAP) : Promise.resolve(undefined),
    kubeCall('list Ingresses', signal, (o) => apis.networking.listIngressForAllNamespaces({}, o)),
    kubeCall('list IngressClasses', signal, (o) => apis.networking.listIngressClass({}, o)),
    config.targets.length > 0 ? readGatewayApi(apis, signal) : Promise.resolve({ gateways: [], routes: [] }),
    Promise.all(
      upstreamRefs.map(async ({ key, service: ref }): Promise<UpstreamView> => {
        const [svc, its, nginx] = await Promise.all([service(ref.namespace, ref.name), slices(ref.namespace, ref.name), configMap(ref.namespace, INGRESS_NGINX_CONFIGMAP)]);
        return { key, service: svc, slices: its, nginxConfigMap: viewOf(nginx) };
      }),
    ),
    service(config.targetNamespace, config.targetService),
    slices(config.targetNamespace, config.targetService),
    kubeCall('list Deployments', signal, (o) => apis.apps.listDeploymentForAllNamespaces({}, o)),
  ]);

  const corefile = coredns?.data?.[config.corednsKey];
  const permissions = requiredPermissions(config, { mode: resolvedMode(config, corefile), nodeLocal: nodeLocal !== undefined });
  const [kubeDnsConfigMap, kubeDnsDeployment, allowed] = await Promise.all([
    coredns === undefined ? configMap('kube-system', KUBE_DNS) : Promise.resolve(undefined),
    coredns === undefined ? unlessNotFound(kubeCall(`read Deployment kube-system/${KUBE_DNS}`, signal, (o) => apis.apps.readNamespacedDeployment({ namespace: 'kube-system', name: KUBE_DNS }, o))) : Promise.resolve(undefined),
    Promise.all(permissions.map((permission) => isAllowed(apis, config, permission, signal))),
  ]);

  return {
    coredns: viewOf(coredns),
    kubeDns: { configMap: kubeDnsConfigMap !== undefined, deployment: kubeDnsDeployment !== undefined },
    custom: viewOf(custom),
    nodeLocal: viewOf(nodeLocal),
    sources: {
      ingresses: ingresses.items,
      ingressClasses: ingressClasses.items,
      gateways: gatewayApi.gateways,
      routes: gatewayApi.routes,
      services: upstreams.flatMap((u) => (u.service ? [u.service] : [])),
    },
    upstreams,
    hairpin: { service: hairpinService, slices: hairpinSlices },
    deployments: deployments.items.map((d) => ({
      namespace: d.metadata?.namespace ?? '',
      name: d.metadata?.name ?? '',
      images: [...(d.spec?.template.spec?.initContainers ?? []), ...(d.spec?.template.spec?.containers ?? [])].map((c) => c.image ?? ''),
    })),
    permissions: permissions.map((permission, i) => ({ permission, allowed: allowed[i] ?? false })),
  };
}

/** A SubjectAccessReview for the controller's ServiceAccount: a question, not a write. */
async function isAllowed(apis: KubeApis, config: Config, permission: Permission, signal: AbortSignal): Promise<boolean> {
  const { user, groups } = controllerUser(config);
  const review = await kubeCall(`SubjectAccessReview ${permission.verb} ${permission.resource}`, signal, (o) =>
    apis.authorization.createSubjectAccessReview(
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user,
            groups,
            resourceAttributes: {
              verb: permission.verb,
              group: permission.group,
              resource: permission.resource,
              ...(permission.namespace === undefined ? {} : { namespace: permission.namespace }),
              ...(permission.name === undefined ? {} : { name: permission.name }),
            },
          },
        },
      },
      o,
    ),
  );
  return review.status?.allowed === true;
}

/** Gateways and routes in the first served version of each kind, as the controller's watches find them. */
async function readGatewayApi(apis: KubeApis, signal: AbortSignal): Promise<{ gateways: GatewayLike[]; routes: RouteLike[] }> {
  const lists = await Promise.all(GATEWAY_API_KINDS.map(async (spec) => ({ kind: spec.kind, items: await listGatewayApiKind(apis, spec, signal) })));
  return {
    gateways: lists.filter((l) => l.kind === 'Gateway').flatMap((l) => l.items as GatewayLike[]),
    routes: lists.filter((l) => l.kind !== 'Gateway').flatMap((l) => l.items as RouteLike[]),
  };
}
