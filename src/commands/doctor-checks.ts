/**
 * `hairpin-proxy doctor`'s checks, pure: one DoctorSnapshot (read once from the cluster by
 * doctor.ts) → findings, each with a fix. "Current" means exactly what the controller would write
 * now: the same planRoutes over the same inputs, the same renderers.
 */
import type { Config } from '../config.js';
import { CorefileError, renderCorefile } from '../coredns/corefile.js';
import { importsOverrides, OVERRIDE_KEY } from '../coredns/custom.js';
import { roomFor } from '../coredns/fit.js';
import { renderNodeLocalCorefile } from '../coredns/nodelocal.js';
import type { EndpointSliceLike, ServiceLike, Snapshot } from '../model/objects.js';
import { planRoutes, routePolicyOf, type RoutePlan } from '../plan/routes.js';
import { upstreamRefs } from '../plan/upstreams.js';
import { describeDropped, DROPPED_FIX, fitCorefile, fitOverride, type FittedRules } from '../reconcile/fitted-dns.js';

export type Severity = 'ok' | 'warning' | 'error';
export type CheckId = 'dns-flavour' | 'dns-mode' | 'corefile-health' | 'rules-current' | 'routes-fit' | 'node-local-dns' | 'upstream' | 'haproxy-replicas' | 'legacy-controller' | 'rbac';

export interface Finding {
  readonly check: CheckId;
  readonly severity: Severity;
  readonly message: string;
  /** What to do about it; null for ok findings. */
  readonly fix: string | null;
}

/** The controller's ServiceAccount name in deploy/base (serviceaccount.yaml, rbac.yaml): not a flag. */
export const CONTROLLER_SERVICE_ACCOUNT = 'hairpin-proxy';
/** The controller's Deployment in deploy/base, in --target-namespace. */
export const CONTROLLER_DEPLOYMENT = 'hairpin-proxy';
/** ingress-nginx's ConfigMap, in the namespace of its Service. */
export const INGRESS_NGINX_CONFIGMAP = 'ingress-nginx-controller';
/** The original Ruby project's images: compumike/hairpin-proxy-controller and -haproxy. */
export const LEGACY_IMAGE = 'compumike/hairpin-proxy';
/** GKE's kube-dns: a ConfigMap and a Deployment of this name in kube-system, and no Corefile. */
export const KUBE_DNS = 'kube-dns';
export const NODE_LOCAL_DNS_CONFIGMAP = 'node-local-dns';
export const NODE_LOCAL_DNS_KEY = 'Corefile';
export const ADDON_MANAGER_LABEL = 'addonmanager.kubernetes.io/mode';

const BEGIN = /^[ \t]*# BEGIN hairpin-proxy(?![\w-])/m;
const LEGACY_LINE = /# Added by hairpin-proxy\s*$/;

export interface ConfigMapView {
  readonly data: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** One thing the controller's ServiceAccount must be allowed to do (a SubjectAccessReview's resourceAttributes). */
export interface Permission {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  /** Absent: in every namespace (or cluster-scoped). */
  readonly namespace?: string;
  readonly name?: string;
}

export interface PermissionResult {
  readonly permission: Permission;
  readonly allowed: boolean;
}

export interface UpstreamView {
  /** `NAMESPACE/NAME`, as resolveUpstreams keys it. */
  readonly key: string;
  readonly service: ServiceLike | undefined;
  readonly slices: readonly EndpointSliceLike[];
  /** ingress-nginx's ConfigMap in the Service's namespace; undefined when there is none. */
  readonly nginxConfigMap: ConfigMapView | undefined;
}

/** Everything doctor reads, once. */
export interface DoctorSnapshot {
  /** The CoreDNS ConfigMap (--coredns-namespace/--coredns-configmap); undefined when missing. */
  readonly coredns: ConfigMapView | undefined;
  /** Read only when the CoreDNS ConfigMap is missing: GKE's kube-dns in kube-system. */
  readonly kubeDns: { readonly configMap: boolean; readonly deployment: boolean };
  readonly custom: ConfigMapView | undefined;
  /** undefined: absent, or --node-local-dns off. */
  readonly nodeLocal: ConfigMapView | undefined;
  /** What the controller's caches would hold: Ingresses, classes, Gateway API objects, the upstream Services. */
  readonly sources: Snapshot;
  readonly upstreams: readonly UpstreamView[];
  readonly hairpin: { readonly service: ServiceLike | undefined; readonly slices: readonly EndpointSliceLike[] };
  /** Every Deployment's namespace, name and container images. */
  readonly deployments: ReadonlyArray<{ readonly namespace: string; readonly name: string; readonly images: readonly string[] }>;
  readonly permissions: readonly PermissionResult[];
}

/** The subject of the RBAC check: the controller's ServiceAccount, not whoever runs doctor. */
export function controllerUser(config: Pick<Config, 'targetNamespace'>): { user: string; groups: string[] } {
  const ns = config.targetNamespace;
  return {
    user: `system:serviceaccount:${ns}:${CONTROLLER_SERVICE_ACCOUNT}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
  };
}

/** Where the rules go: auto → custom where the Corefile imports *.override files. undefined: no Corefile to tell by. */
export function resolvedMode(config: Pick<Config, 'corednsMode'>, corefile: string | undefined): 'corefile' | 'custom' | 'external-dns' | undefined {
  if (config.corednsMode !== 'auto') return config.corednsMode;
  return corefile === undefined ? undefined : importsOverrides(corefile) ? 'custom' : 'corefile';
}

/** Every verb the controller needs with these flags, in this cluster (mode, node-local-dns present). */
export function requiredPermissions(config: Config, cluster: { readonly mode: 'corefile' | 'custom' | 'external-dns' | undefined; readonly nodeLocal: boolean }): Permission[] {
  const all = (group: string, resources: readonly string[], verbs: readonly string[]): Permission[] => resources.flatMap((resource) => verbs.map((verb) => ({ verb, group, resource })));
  const inNs = (namespace: string, resource: string, verbs: readonly string[], name?: string, group = ''): Permission[] =>
    verbs.map((verb) => ({ verb, group, resource, namespace, ...(name === undefined ? {} : { name }) }));
  const dns = config.corednsNamespace;
  const own = config.targetNamespace;
  const upstreams = upstreamRefs(routePolicyOf(config).mode);
  return [
    ...all('networking.k8s.io', ['ingresses', 'ingressclasses'], ['list', 'watch']),
    // Each upstream's Service by name, and (HAProxy managed) its EndpointSlices and the hairpin pods'.
    ...upstreams.flatMap((u) => inNs(u.namespace, 'services', ['list', 'watch'], u.name)),
    ...(config.haproxy
      ? [...new Set([...upstreams.map((u) => u.namespace), own])].flatMap((namespace) => inNs(namespace, 'endpointslices', ['list', 'watch'], undefined, 'discovery.k8s.io'))
      : []),
    ...inNs(dns, 'configmaps', ['get', 'list', 'watch', 'patch'], config.corednsConfigMap),
    ...(cluster.mode === 'custom' ? [...inNs(dns, 'configmaps', ['get', 'patch'], config.corednsCustomConfigMap), ...inNs(dns, 'configmaps', ['create'])] : []),
    ...(cluster.mode === 'external-dns'
      ? [...inNs(own, 'dnsendpoints', ['list', 'create', 'patch', 'delete'], undefined, 'externaldns.k8s.io'), ...inNs(own, 'services', ['list', 'watch'])]
      : []),
    ...(config.nodeLocalDns === 'auto' ? inNs(dns, 'configmaps', cluster.nodeLocal ? ['get', 'patch'] : ['get'], NODE_LOCAL_DNS_CONFIGMAP) : []),
    ...all('', ['events'], ['create', 'patch', 'get']),
    ...(config.leaderElection ? [...inNs(own, 'leases', ['get', 'update'], 'hairpin-proxy', 'coordination.k8s.io'), ...inNs(own, 'leases', ['create'], undefined, 'coordination.k8s.io')] : []),
    ...(config.haproxy && !config.haproxy.dataplanePassword ? [...inNs(own, 'secrets', ['get'], config.haproxy.dataplaneSecret), ...inNs(own, 'secrets', ['create'])] : []),
    // Removal cleanup (src/kube/removal.ts): the install's Deployment, read; the cleanup identity.
    ...inNs(own, 'deployments', ['get'], config.installName, 'apps'),
    ...inNs(dns, 'serviceaccounts', ['create']),
    ...inNs(dns, 'roles', ['create'], undefined, 'rbac.authorization.k8s.io'),
    ...inNs(dns, 'rolebindings', ['create'], undefined, 'rbac.authorization.k8s.io'),
    ...inNs(dns, 'rolebindings', ['delete'], `${config.installName}-cleanup`, 'rbac.authorization.k8s.io'),
    ...(cluster.mode === 'external-dns' || config.targets.length > 0 ? inNs(own, 'rolebindings', ['delete'], `${config.installName}-cleanup`, 'rbac.authorization.k8s.io') : []),
    ...(config.targets.length > 0
      ? [...inNs(own, 'services', ['get', 'list', 'create', 'patch', 'delete']), ...all('gateway.networking.k8s.io', ['gateways', 'httproutes', 'grpcroutes', 'tlsroutes'], ['list', 'watch'])]
      : []),
  ];
}

export function describePermission(p: Permission): string {
  const resource = `${p.group === '' ? '' : `${p.group}/`}${p.resource}${p.name === undefined ? '' : `/${p.name}`}`;
  return `${p.verb} ${resource} ${p.namespace === undefined ? '(all namespaces)' : `in ${p.namespace}`}`;
}

/** Every check, in a fixed order. */
export function diagnose(snapshot: DoctorSnapshot, config: Config): Finding[] {
  const plan = planRoutes(snapshot.sources, routePolicyOf(config));
  const corefile = snapshot.coredns?.data[config.corednsKey];
  const healthy = corefile !== undefined && corefileProblem(corefile) === undefined;
  // Rendered once for both checks that read it: at 20,000 hosts a render is not free.
  const rules = healthy ? fitted(snapshot, config, plan, resolvedMode(config, corefile)) : undefined;
  return [
    ...checkDnsFlavour(snapshot, config),
    ...checkDnsMode(config, corefile),
    ...(corefile === undefined ? [] : checkCorefileHealth(corefile, config)),
    ...(healthy ? checkRulesCurrent(snapshot, config, plan, rules) : []),
    ...(healthy ? checkRoutesFit(config, plan, rules) : []),
    ...checkNodeLocalDns(snapshot, config, plan),
    ...checkUpstreams(snapshot, config, plan),
    ...checkHaproxyReplicas(snapshot, config),
    ...checkLegacyController(snapshot, config),
    ...checkRbac(snapshot, config),
  ];
}

export function isHealthy(findings: readonly Finding[]): boolean {
  return findings.every((finding) => finding.severity === 'ok');
}

const ok = (check: CheckId, message: string): Finding => ({ check, severity: 'ok', message, fix: null });
const problem = (check: CheckId, severity: 'warning' | 'error', message: string, fix: string): Finding => ({ check, severity, message, fix });

export function checkDnsFlavour(snapshot: DoctorSnapshot, config: Config): Finding[] {
  const where = `ConfigMap ${config.corednsNamespace}/${config.corednsConfigMap}`;
  if (!snapshot.coredns && config.corednsMode === 'external-dns') return [ok('dns-flavour', `no ${where}: external-dns mode does not need one`)];
  if (snapshot.coredns) {
    if (snapshot.coredns.data[config.corednsKey] !== undefined) return [ok('dns-flavour', `CoreDNS: ${where} has the key ${config.corednsKey}`)];
    const keys = Object.keys(snapshot.coredns.data);
    return [
      problem(
        'dns-flavour',
        'error',
        `${where} has no key ${config.corednsKey} (it has ${keys.length === 0 ? 'no keys' : keys.join(', ')})`,
        '--coredns-key must name the key that holds the Corefile',
      ),
    ];
  }
  if (snapshot.kubeDns.configMap || snapshot.kubeDns.deployment) {
    const found = [snapshot.kubeDns.configMap ? 'ConfigMap' : '', snapshot.kubeDns.deployment ? 'Deployment' : ''].filter((s) => s !== '').join(' and ');
    return [
      problem(
        'dns-flavour',
        'error',
        `${where} not found, but kube-system has a ${KUBE_DNS} ${found}: this cluster runs kube-dns (GKE), which has no Corefile to add rules to`,
        "GKE's kube-dns has no Corefile: run with --coredns-mode external-dns and an external-dns (--source=crd) publishing to the zone the cluster resolves from; hairpin-proxy hosts-file covers node clients",
      ),
    ];
  }
  return [
    problem(
      'dns-flavour',
      'error',
      `${where} not found`,
      'point --coredns-namespace and --coredns-configmap at the ConfigMap holding the cluster DNS Corefile (kubectl get configmaps -A | grep -i dns)',
    ),
  ];
}

export function checkDnsMode(config: Config, corefile: string | undefined): Finding[] {
  const mode = resolvedMode(config, corefile);
  if (mode === undefined) return [];
  const how = config.corednsMode === 'auto' ? `--coredns-mode auto resolves to ${mode}` : `--coredns-mode ${mode}`;
  if (mode === 'external-dns') return [ok('dns-mode', `${how}: the rules are DNSEndpoints in ${config.targetNamespace}, for an external-dns with --source=crd to publish`)];
  if (mode === 'corefile') return [ok('dns-mode', `${how}: the rules go into our marked block of the Corefile in ${config.corednsNamespace}/${config.corednsConfigMap}`)];
  const where = `key ${OVERRIDE_KEY} of ConfigMap ${config.corednsNamespace}/${config.corednsCustomConfigMap}`;
  if (corefile !== undefined && !importsOverrides(corefile)) {
    return [problem('dns-mode', 'warning', `${how}: the rules go to ${where}, but the Corefile imports no *.override files, so CoreDNS never reads them`, 'use --coredns-mode auto or corefile on a cluster whose Corefile does not import coredns-custom')];
  }
  return [ok('dns-mode', `${how}${config.corednsMode === 'auto' ? ' (the Corefile imports *.override files)' : ''}: the rules go to ${where}`)];
}

function corefileProblem(corefile: string): CorefileError | undefined {
  try {
    renderCorefile(corefile, []);
    return undefined;
  } catch (error) {
    if (error instanceof CorefileError) return error;
    throw error;
  }
}

export function checkCorefileHealth(corefile: string, config: Config): Finding[] {
  const error = corefileProblem(corefile);
  const where = `${config.corednsNamespace}/${config.corednsConfigMap}`;
  if (!error) return [ok('corefile-health', `the Corefile in ${where} parses`)];
  return [
    problem(
      'corefile-health',
      'error',
      `the Corefile in ${where} cannot be edited: ${error.message}`,
      `fix the Corefile${error.line === undefined ? '' : ` at line ${error.line}`} (kubectl -n ${config.corednsNamespace} edit configmap ${config.corednsConfigMap}); the controller writes nothing until it parses, and retries as soon as it changes`,
    ),
  ];
}

function hostList(plan: RoutePlan): string {
  const hosts = plan.routes.map((route) => route.host);
  return hosts.length <= 5 ? hosts.join(', ') : `${hosts.slice(0, 5).join(', ')}, … (${hosts.length} in all)`;
}

function controllerFix(config: Config, what: string): string {
  const ns = config.targetNamespace;
  return `${what}: check that the controller runs (kubectl -n ${ns} get deployment ${CONTROLLER_DEPLOYMENT}), its logs (kubectl -n ${ns} logs deployment/${CONTROLLER_DEPLOYMENT}) and its Events (kubectl -n ${config.corednsNamespace} get events --field-selector involvedObject.kind=ConfigMap)`;
}

/** Our rules where the mode puts them, compared with what the controller would write now. */
export function checkRulesCurrent(snapshot: DoctorSnapshot, config: Config, plan: RoutePlan, rules: FittedRules | undefined): Finding[] {
  const corefile = snapshot.coredns?.data[config.corednsKey];
  const mode = resolvedMode(config, corefile);
  if (mode === 'external-dns') return [ok('rules-current', `external-dns mode: ${plan.routes.length} host(s) to publish; doctor does not read DNSEndpoints (kubectl -n ${config.targetNamespace} get dnsendpoints)`)];
  if (corefile === undefined || mode === undefined) return [];
  const override = snapshot.custom?.data[OVERRIDE_KEY];
  const count = `${plan.routes.length} host${plan.routes.length === 1 ? '' : 's'}`;
  const stale = (message: string): Finding => problem('rules-current', 'warning', `stale: ${message}; the controller is not running or failing`, controllerFix(config, 'it rewrites them on its next sync'));
  const missing = (where: string): Finding =>
    problem('rules-current', 'error', `missing: ${count} should be routed (${hostList(plan)}) but ${where} has no rules of hairpin-proxy`, controllerFix(config, 'the controller writes them'));
  if (mode === 'corefile') {
    const where = `the Corefile in ${config.corednsNamespace}/${config.corednsConfigMap}`;
    const expected = rules?.text;
    if (plan.routes.length > 0 && !BEGIN.test(corefile)) return [missing(where)];
    if (expected !== corefile) return [stale(`our block in ${where} is not what the controller would write now for ${count}`)];
    if (override !== undefined) return [stale(`key ${OVERRIDE_KEY} of ${config.corednsNamespace}/${config.corednsCustomConfigMap} is still there although the mode is corefile`)];
    return [ok('rules-current', plan.routes.length === 0 ? `no hosts to route, and ${where} holds no rules of ours` : `our block in ${where} routes ${count}, exactly what the controller would write now`)];
  }
  const where = `key ${OVERRIDE_KEY} of ${config.corednsNamespace}/${config.corednsCustomConfigMap}`;
  const expected = rules?.text;
  if (plan.routes.length > 0 && override === undefined) return [missing(where)];
  if (expected !== override) return [stale(`${where} is not what the controller would write now for ${count}`)];
  if (renderCorefile(corefile, []) !== corefile) return [stale(`the Corefile in ${config.corednsNamespace}/${config.corednsConfigMap} still holds rules of ours although the mode is custom`)];
  return [ok('rules-current', plan.routes.length === 0 ? `no hosts to route, and ${where} is absent` : `${where} routes ${count}, exactly what the controller would write now`)];
}

/** What the controller would write, and where: the Corefile, or the coredns-custom override. */
type PlacedRules = FittedRules & { readonly place: 'corefile' | 'custom' };

/** Whether every route fits in the ConfigMap the mode writes (rules: what it would write); the ones that do not, by name. */
export function checkRoutesFit(config: Config, plan: RoutePlan, rules: PlacedRules | undefined): Finding[] {
  if (!rules) return [];
  const where = `ConfigMap ${config.corednsNamespace}/${rules.place === 'corefile' ? config.corednsConfigMap : config.corednsCustomConfigMap}`;
  if (rules.dropped.length === 0) return [ok('routes-fit', plan.routes.length === 1 ? `the 1 route fits in ${where}` : `all ${plan.routes.length} routes fit in ${where}`)];
  return [problem('routes-fit', 'warning', describeDropped(rules.dropped, where), DROPPED_FIX)];
}

/** What the controller would write where the mode puts the rules: as many routes as fit, oldest claims first. */
function fitted(snapshot: DoctorSnapshot, config: Config, plan: RoutePlan, mode: ReturnType<typeof resolvedMode>): PlacedRules | undefined {
  if (mode === 'corefile') {
    const data = snapshot.coredns?.data ?? {};
    return { place: mode, ...fitCorefile(data[config.corednsKey] ?? '', plan.routes, roomFor(data, config.corednsKey)) };
  }
  if (mode !== 'custom') return undefined;
  const data = snapshot.custom?.data ?? {};
  return { place: mode, ...fitOverride(plan.routes, roomFor(data, OVERRIDE_KEY)) };
}

export function checkNodeLocalDns(snapshot: DoctorSnapshot, config: Config, plan: RoutePlan): Finding[] {
  const nodeLocal = snapshot.nodeLocal;
  if (config.nodeLocalDns === 'off' || nodeLocal === undefined) return [];
  const where = `ConfigMap ${config.corednsNamespace}/${NODE_LOCAL_DNS_CONFIGMAP}`;
  if (nodeLocal.labels[ADDON_MANAGER_LABEL] === 'Reconcile') {
    return [
      problem(
        'node-local-dns',
        'warning',
        `${where} is labelled ${ADDON_MANAGER_LABEL}=Reconcile: the addon manager would revert our block, so on nodes using node-local-dns the hosts bypass CoreDNS's rewrite`,
        `kubectl -n ${config.corednsNamespace} label configmap ${NODE_LOCAL_DNS_CONFIGMAP} ${ADDON_MANAGER_LABEL}=EnsureExists --overwrite (and in the addon's manifest, so that it stays)`,
      ),
    ];
  }
  const live = nodeLocal.data[NODE_LOCAL_DNS_KEY];
  if (live === undefined) return [problem('node-local-dns', 'error', `${where} has no key ${NODE_LOCAL_DNS_KEY}`, `give node-local-dns its Corefile, or --node-local-dns off`)];
  let expected: string;
  try {
    expected = renderNodeLocalCorefile(live, plan.routes.map((route) => route.host), config.clusterDomain).corefile;
  } catch (error) {
    if (!(error instanceof CorefileError)) throw error;
    return [problem('node-local-dns', 'error', `${where}: ${error.message}`, `fix node-local-dns's Corefile (kubectl -n ${config.corednsNamespace} edit configmap ${NODE_LOCAL_DNS_CONFIGMAP}), or --node-local-dns off`)];
  }
  if (expected === live) return [ok('node-local-dns', `${where}: our block is what the controller would write now`)];
  if (plan.routes.length > 0 && !BEGIN.test(live)) return [problem('node-local-dns', 'error', `missing: ${where} has no block of ours, so on its nodes the hosts bypass CoreDNS's rewrite`, controllerFix(config, 'the controller writes it'))];
  return [problem('node-local-dns', 'warning', `stale: our block in ${where} is not what the controller would write now; the controller is not running or failing`, controllerFix(config, 'it rewrites it on its next sync'))];
}

/** Distinct addresses of endpoints not marked unready (an unset ready condition means ready). */
export function readyAddresses(slices: readonly EndpointSliceLike[]): number {
  const ready = new Set<string>();
  for (const slice of slices) for (const endpoint of slice.endpoints ?? []) if (endpoint.conditions?.ready !== false) for (const address of endpoint.addresses ?? []) ready.add(address);
  return ready.size;
}

export function checkUpstreams(snapshot: DoctorSnapshot, config: Config, plan: RoutePlan): Finding[] {
  return plan.upstreams.flatMap((upstream): Finding[] => {
    const view = snapshot.upstreams.find((u) => u.key === upstream.key);
    const { namespace, name } = upstream.service;
    if (!view?.service) {
      const flag = config.targets.length > 0 ? '--target' : '--ingress-controller';
      return [problem('upstream', 'error', `${upstream.key}: Service not found`, `create it, or make ${flag} name the ingress or gateway controller's Service (kubectl get services -A | grep -i -e ingress -e gateway)`)];
    }
    const findings: Finding[] = [];
    const addresses = (view.service.status?.loadBalancer?.ingress ?? []).map((i) => `${i.ip ?? i.hostname ?? '?'} (ipMode ${i.ipMode ?? 'unset'})`);
    if (upstream.ipModeProxy) {
      findings.push(
        ok(
          'upstream',
          config.rewriteWhenIpModeProxy
            ? `${upstream.key}: its load balancer reports ipMode Proxy on every address; hosts rewritten anyway (--rewrite-when-ipmode-proxy)`
            : `${upstream.key}: its load balancer reports ipMode Proxy on every address: no hairpin needed, hosts skipped`,
        ),
      );
    } else {
      findings.push(ok('upstream', `${upstream.key}: Service ${view.service.spec?.type ?? 'ClusterIP'}${addresses.length ? `, load balancer ${addresses.join(', ')}` : ''}`));
    }
    const ready = readyAddresses(view.slices);
    findings.push(
      ready === 0
        ? problem(
            'upstream',
            'error',
            `${upstream.key}: no ready endpoints in its ${view.slices.length} EndpointSlice${view.slices.length === 1 ? '' : 's'}: the hairpin HAProxy has nowhere to send traffic`,
            `check its pods: kubectl -n ${namespace} get endpointslices -l kubernetes.io/service-name=${name}; kubectl -n ${namespace} get pods`,
          )
        : ok('upstream', `${upstream.key}: ${ready} ready endpoint${ready === 1 ? '' : 's'}`),
    );
    if (view.nginxConfigMap) {
      const value = view.nginxConfigMap.data['use-proxy-protocol'];
      findings.push(
        value === 'true'
          ? ok('upstream', `${upstream.key}: ConfigMap ${namespace}/${INGRESS_NGINX_CONFIGMAP} has use-proxy-protocol: "true"`)
          : problem(
              'upstream',
              'warning',
              `${upstream.key}: ConfigMap ${namespace}/${INGRESS_NGINX_CONFIGMAP} has use-proxy-protocol ${value === undefined ? 'unset' : JSON.stringify(value)}: then there is no hairpin problem to fix; or PROXY is set elsewhere`,
              `if ingress-nginx does not expect PROXY, hairpin-proxy is not needed for it; if it should, set use-proxy-protocol: "true" in ${namespace}/${INGRESS_NGINX_CONFIGMAP}; if PROXY is configured elsewhere, ignore this`,
            ),
      );
    }
    return findings;
  });
}

export function checkHaproxyReplicas(snapshot: DoctorSnapshot, config: Config): Finding[] {
  const where = `${config.targetNamespace}/${config.targetService}`;
  if (!snapshot.hairpin.service) {
    return [problem('haproxy-replicas', 'error', `the hairpin Service ${where} not found: the hosts would resolve to nothing`, `apply deploy/base (kubectl apply -k deploy/base), or make --target-service/--target-namespace name it`)];
  }
  const ready = readyAddresses(snapshot.hairpin.slices);
  if (ready === 0) {
    return [
      problem(
        'haproxy-replicas',
        'error',
        `the hairpin Service ${where} has no ready endpoints: every rewritten host resolves to a Service nothing answers`,
        `check the hairpin HAProxy pods: kubectl -n ${config.targetNamespace} get pods,endpointslices -l kubernetes.io/service-name=${config.targetService}; kubectl -n ${config.targetNamespace} describe deployment ${config.targetService}`,
      ),
    ];
  }
  return [ok('haproxy-replicas', `the hairpin Service ${where} has ${ready} ready endpoint${ready === 1 ? '' : 's'}`)];
}

export function checkLegacyController(snapshot: DoctorSnapshot, config: Config): Finding[] {
  const findings: Finding[] = [];
  const legacy = snapshot.deployments.filter((d) => d.images.some((image) => image.includes(LEGACY_IMAGE)));
  if (legacy.length > 0) {
    const list = legacy.map((d) => `${d.namespace}/${d.name} (${d.images.filter((i) => i.includes(LEGACY_IMAGE)).join(', ')})`).join(', ');
    findings.push(
      problem(
        'legacy-controller',
        'error',
        `the original Ruby hairpin-proxy is running: Deployment ${list}; it rewrites the Corefile every 15 s`,
        `delete it: ${legacy.map((d) => `kubectl -n ${d.namespace} delete deployment ${d.name}`).join('; ')}`,
      ),
    );
  }
  const corefile = snapshot.coredns?.data[config.corednsKey];
  const lines = (corefile ?? '').split('\n').filter((line) => LEGACY_LINE.test(line));
  if (lines.length > 0) {
    findings.push(
      problem(
        'legacy-controller',
        'warning',
        `the Corefile in ${config.corednsNamespace}/${config.corednsConfigMap} has ${lines.length} line${lines.length === 1 ? '' : 's'} ending with "# Added by hairpin-proxy" (the original Ruby hairpin-proxy's)`,
        'the controller removes them when it runs (once the Ruby hairpin-proxy is gone); hairpin-proxy uninstall removes them too',
      ),
    );
  }
  if (findings.length === 0) findings.push(ok('legacy-controller', 'no sign of the original Ruby hairpin-proxy'));
  return findings;
}

export function checkRbac(snapshot: DoctorSnapshot, config: Config): Finding[] {
  const { user } = controllerUser(config);
  const denied = snapshot.permissions.filter((p) => !p.allowed);
  if (denied.length === 0) return [ok('rbac', `${user} is allowed all ${snapshot.permissions.length} verbs the controller needs`)];
  return [
    problem(
      'rbac',
      'error',
      `${user} is not allowed to: ${denied.map((p) => describePermission(p.permission)).join('; ')}`,
      'apply deploy/base/rbac.yaml (kubectl apply -f deploy/base/rbac.yaml), adjusted to --target-namespace and --coredns-namespace if they differ from deploy/base',
    ),
  ];
}
