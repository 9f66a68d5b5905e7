import { describe, expect, it } from '@jest/globals';
import { loadConfig, type Config } from '../config.js';
import { renderCorefile } from '../coredns/corefile.js';
import { CONFIGMAP_MAX_BYTES } from '../coredns/fit.js';
import { OVERRIDE_KEY, renderOverride } from '../coredns/custom.js';
import { renderNodeLocalCorefile } from '../coredns/nodelocal.js';
import type { Snapshot } from '../model/objects.js';
import { planRoutes, routePolicyOf } from '../plan/routes.js';
import {
  ADDON_MANAGER_LABEL,
  controllerUser,
  describePermission,
  diagnose,
  isHealthy,
  requiredPermissions,
  resolvedMode,
  type DoctorSnapshot,
  type Finding,
} from './doctor-checks.js';

const KUBEADM = '.:53 {\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n    }\n    forward . /etc/resolv.conf\n    cache 30\n}\n';
const K3S = '.:53 {\n    errors\n    forward . /etc/resolv.conf\n    import /etc/coredns/custom/*.override\n}\nimport /etc/coredns/custom/*.server\n';
const NODE_LOCAL = 'cluster.local:53 {\n    errors\n    cache 30\n    bind 169.254.20.10\n    forward . __PILLAR__CLUSTER__DNS__ {\n        force_tcp\n    }\n}\n.:53 {\n    errors\n    forward . __PILLAR__UPSTREAM__SERVERS__\n}\n';
const NGINX = { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' };

const config = (...argv: string[]): Config => loadConfig(argv, {});

const sources: Snapshot = {
  ingresses: [{ metadata: { namespace: 'shop', name: 'shop' }, spec: { rules: [{ host: 'shop.example.com' }, { host: 'api.example.com' }] } }],
  ingressClasses: [],
  gateways: [],
  routes: [],
  services: [{ metadata: NGINX, spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }] } } }],
};

const routesFor = (c: Config, s: Snapshot = sources) => planRoutes(s, routePolicyOf(c)).routes.map(({ host, target }) => ({ host, target }));

/** What a healthy cluster looks like with flags c: everything current, everything allowed. */
function healthy(c: Config = config(), base = KUBEADM): DoctorSnapshot {
  const routes = routesFor(c);
  const custom = resolvedMode(c, base) === 'custom';
  return {
    coredns: { data: { Corefile: custom ? base : renderCorefile(base, routes) }, labels: {} },
    kubeDns: { configMap: false, deployment: false },
    custom: custom ? { data: { [OVERRIDE_KEY]: renderOverride(routes) ?? '' }, labels: {} } : undefined,
    nodeLocal: undefined,
    sources,
    upstreams: [
      {
        key: `${NGINX.namespace}/${NGINX.name}`,
        service: sources.services?.[0],
        slices: [{ endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true } }] }],
        nginxConfigMap: { data: { 'use-proxy-protocol': 'true' }, labels: {} },
      },
    ],
    hairpin: { service: { metadata: { namespace: 'hairpin-proxy', name: 'hairpin-proxy-haproxy' } }, slices: [{ endpoints: [{ addresses: ['10.244.0.10'] }] }] },
    deployments: [{ namespace: 'hairpin-proxy', name: 'hairpin-proxy', images: ['ghcr.io/hairpin-proxy/hairpin-proxy:0.1.0'] }],
    permissions: requiredPermissions(c, { mode: resolvedMode(c, base), nodeLocal: false }).map((permission) => ({ permission, allowed: true })),
  };
}

const of = (findings: readonly Finding[], check: string) => findings.filter((f) => f.check === check);

describe('doctor on a healthy cluster', () => {
  it.each([
    ['kubeadm, corefile mode', config(), KUBEADM],
    ['k3s, auto resolves to custom', config(), K3S],
    ['--target', config('--target', 'nginx=ingress-nginx/ingress-nginx-controller'), KUBEADM],
  ])('%s: every finding ok, each with fix null', (_, c, base) => {
    const findings = diagnose(healthy(c, base), c);
    expect(findings.filter((f) => f.severity !== 'ok')).toEqual([]);
    expect(findings.every((f) => f.fix === null)).toBe(true);
    expect(isHealthy(findings)).toBe(true);
    expect(new Set(findings.map((f) => f.check))).toEqual(new Set(['dns-flavour', 'dns-mode', 'corefile-health', 'rules-current', 'routes-fit', 'upstream', 'haproxy-replicas', 'legacy-controller', 'rbac']));
  });

  it('says which mode auto resolves to', () => {
    expect(of(diagnose(healthy(), config()), 'dns-mode')[0]?.message).toMatch(/^--coredns-mode auto resolves to corefile/);
    expect(of(diagnose(healthy(config(), K3S), config()), 'dns-mode')[0]?.message).toMatch(/^--coredns-mode auto resolves to custom \(the Corefile imports/);
  });
});

type Case = readonly [string, (s: DoctorSnapshot) => DoctorSnapshot, string, 'ok' | 'warning' | 'error', RegExp, Config?];

const cases: readonly Case[] = [
  ['no CoreDNS ConfigMap, kube-dns Deployment (GKE)', (s) => ({ ...s, coredns: undefined, kubeDns: { configMap: false, deployment: true } }), 'dns-flavour', 'error', /kube-dns Deployment.*no Corefile/],
  ['no CoreDNS ConfigMap at all', (s) => ({ ...s, coredns: undefined }), 'dns-flavour', 'error', /ConfigMap kube-system\/coredns not found$/],
  ['no Corefile key', (s) => ({ ...s, coredns: { data: { other: 'x' }, labels: {} } }), 'dns-flavour', 'error', /has no key Corefile \(it has other\)/],
  ['custom mode on a Corefile that imports nothing', (s) => ({ ...s, custom: { data: { [OVERRIDE_KEY]: renderOverride(routesFor(config())) ?? '' }, labels: {} }, coredns: { data: { Corefile: KUBEADM }, labels: {} } }), 'dns-mode', 'warning', /imports no \*\.override files/, config('--coredns-mode', 'custom')],
  ['a Corefile that does not parse', (s) => ({ ...s, coredns: { data: { Corefile: '.:53 {\n    errors\n' }, labels: {} } }), 'corefile-health', 'error', /cannot be edited: Corefile/],
  ['an END marker without BEGIN', (s) => ({ ...s, coredns: { data: { Corefile: `${KUBEADM}# END hairpin-proxy\n` }, labels: {} } }), 'corefile-health', 'error', /line 9/],
  ['a stale block', (s) => ({ ...s, coredns: { data: { Corefile: renderCorefile(KUBEADM, [{ host: 'old.example.com', target: 'hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local' }]) }, labels: {} } }), 'rules-current', 'warning', /^stale: .*the controller is not running or failing$/],
  ['no block although hosts are routed', (s) => ({ ...s, coredns: { data: { Corefile: KUBEADM }, labels: {} } }), 'rules-current', 'error', /^missing: 2 hosts should be routed \(api\.example\.com, shop\.example\.com\)/],
  ['an override left behind in corefile mode', (s) => ({ ...s, custom: { data: { [OVERRIDE_KEY]: 'x' }, labels: {} } }), 'rules-current', 'warning', /still there although the mode is corefile/],
  ['custom mode, no override', (s) => ({ ...s, coredns: { data: { Corefile: K3S }, labels: {} }, custom: undefined }), 'rules-current', 'error', /^missing: .*hairpin-proxy\.override/],
  ['custom mode, stale override', (s) => ({ ...s, coredns: { data: { Corefile: K3S }, labels: {} }, custom: { data: { [OVERRIDE_KEY]: '# old\n' }, labels: {} } }), 'rules-current', 'warning', /^stale: key hairpin-proxy\.override/],
  [
    'a ConfigMap whose other keys leave no room for our rules',
    (s) => ({ ...s, coredns: { data: { Corefile: KUBEADM, padding: 'x'.repeat(CONFIGMAP_MAX_BYTES - KUBEADM.length - 10) }, labels: {} } }),
    'routes-fit',
    'warning',
    /^2 host\(s\) do not fit in ConfigMap kube-system\/coredns .*\(the newest claims\): api\.example\.com, shop\.example\.com$/,
  ],
  ['node-local-dns reconciled by the addon manager', (s) => ({ ...s, nodeLocal: { data: { Corefile: NODE_LOCAL }, labels: { [ADDON_MANAGER_LABEL]: 'Reconcile' } } }), 'node-local-dns', 'warning', /Reconcile/],
  ['node-local-dns without our block', (s) => ({ ...s, nodeLocal: { data: { Corefile: NODE_LOCAL }, labels: {} } }), 'node-local-dns', 'error', /^missing: /],
  [
    'node-local-dns with our block',
    (s) => ({ ...s, nodeLocal: { data: { Corefile: renderNodeLocalCorefile(NODE_LOCAL, ['api.example.com', 'shop.example.com'], 'cluster.local').corefile }, labels: {} } }),
    'node-local-dns',
    'ok',
    /our block is what the controller would write now/,
  ],
  ['node-local-dns with a stale block', (s) => ({ ...s, nodeLocal: { data: { Corefile: renderNodeLocalCorefile(NODE_LOCAL, ['old.example.com'], 'cluster.local').corefile }, labels: {} } }), 'node-local-dns', 'warning', /^stale: /],
  ['no upstream Service', (s) => ({ ...s, upstreams: s.upstreams.map((u) => ({ ...u, service: undefined })) }), 'upstream', 'error', /ingress-nginx\/ingress-nginx-controller: Service not found/],
  ['no ready upstream endpoint', (s) => ({ ...s, upstreams: s.upstreams.map((u) => ({ ...u, slices: [{ endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: false } }] }] })) }), 'upstream', 'error', /no ready endpoints in its 1 EndpointSlice:/],
  ['use-proxy-protocol false', (s) => ({ ...s, upstreams: s.upstreams.map((u) => ({ ...u, nginxConfigMap: { data: { 'use-proxy-protocol': 'false' }, labels: {} } })) }), 'upstream', 'warning', /use-proxy-protocol "false": then there is no hairpin problem to fix; or PROXY is set elsewhere/],
  ['use-proxy-protocol unset', (s) => ({ ...s, upstreams: s.upstreams.map((u) => ({ ...u, nginxConfigMap: { data: {}, labels: {} } })) }), 'upstream', 'warning', /use-proxy-protocol unset/],
  ['no hairpin Service', (s) => ({ ...s, hairpin: { service: undefined, slices: [] } }), 'haproxy-replicas', 'error', /not found/],
  ['no ready hairpin replica', (s) => ({ ...s, hairpin: { ...s.hairpin, slices: [{ endpoints: [{ addresses: ['10.244.0.10'], conditions: { ready: false } }] }] } }), 'haproxy-replicas', 'error', /has no ready endpoints/],
  ['the Ruby controller', (s) => ({ ...s, deployments: [...s.deployments, { namespace: 'hairpin-proxy', name: 'hairpin-proxy-controller', images: ['compumike/hairpin-proxy-controller:0.2.1'] }] }), 'legacy-controller', 'error', /hairpin-proxy\/hairpin-proxy-controller \(compumike\/hairpin-proxy-controller:0\.2\.1\).*every 15 s/],
  [
    'lines the Ruby controller left',
    (s) => ({ ...s, coredns: { data: { Corefile: (s.coredns?.data.Corefile ?? '').replace('    errors\n', '    errors\n    rewrite name a.example.com b.svc.cluster.local # Added by hairpin-proxy\n') }, labels: {} } }),
    'legacy-controller',
    'warning',
    /1 line ending with "# Added by hairpin-proxy"/,
  ],
  ['a verb refused', (s) => ({ ...s, permissions: s.permissions.map((p) => ({ ...p, allowed: !(p.permission.resource === 'endpointslices' && p.permission.verb === 'watch') })) }), 'rbac', 'error', /system:serviceaccount:hairpin-proxy:hairpin-proxy is not allowed to: watch discovery\.k8s\.io\/endpointslices in ingress-nginx; watch discovery\.k8s\.io\/endpointslices in hairpin-proxy$/],
];

describe('doctor finds', () => {
  it.each(cases)('%s', (_, breakIt, check, severity, message, c = config()) => {
    const findings = diagnose(breakIt(healthy(c)), c);
    const found = of(findings, check).find((f) => f.severity === severity && message.test(f.message));
    expect(found).toBeDefined();
    expect(found?.fix === null).toBe(severity === 'ok');
    expect(isHealthy(findings)).toBe(severity === 'ok');
  });

  it('does not compare rules in a Corefile it cannot parse, nor without a Corefile', () => {
    expect(of(diagnose({ ...healthy(), coredns: { data: { Corefile: '.:53 {\n' }, labels: {} } }, config()), 'rules-current')).toEqual([]);
    const none = diagnose({ ...healthy(), coredns: undefined }, config());
    expect(of(none, 'rules-current')).toEqual([]);
    expect(of(none, 'dns-mode')).toEqual([]);
    expect(of(none, 'corefile-health')).toEqual([]);
  });

  it('ipMode Proxy: the upstream needs no hairpin, its hosts are skipped (so a block holding them is stale)', () => {
    const proxied: Snapshot = { ...sources, services: [{ metadata: NGINX, status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'Proxy' }] } } }] };
    const snapshot = { ...healthy(), sources: proxied };
    const findings = diagnose(snapshot, config());
    expect(of(findings, 'upstream')).toContainEqual({ check: 'upstream', severity: 'ok', message: 'ingress-nginx/ingress-nginx-controller: its load balancer reports ipMode Proxy on every address: no hairpin needed, hosts skipped', fix: null });
    expect(of(findings, 'rules-current')[0]?.severity).toBe('warning');
    const anyway = diagnose(snapshot, config('--rewrite-when-ipmode-proxy'));
    expect(of(anyway, 'upstream')[0]?.message).toMatch(/hosts rewritten anyway \(--rewrite-when-ipmode-proxy\)/);
    expect(of(anyway, 'rules-current')[0]?.severity).toBe('ok');
  });

  it('an endpoint without a ready condition counts as ready; addresses count once', () => {
    const snapshot = healthy();
    const slices = [{ endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'], conditions: { ready: true } }] }, { endpoints: [{ addresses: ['10.0.0.1'] }] }];
    expect(of(diagnose({ ...snapshot, hairpin: { ...snapshot.hairpin, slices } }, config()), 'haproxy-replicas')[0]?.message).toMatch(/has 2 ready endpoints$/);
  });

  it('no ingress-nginx ConfigMap: no use-proxy-protocol finding', () => {
    const snapshot = healthy();
    const findings = diagnose({ ...snapshot, upstreams: snapshot.upstreams.map((u) => ({ ...u, nginxConfigMap: undefined })) }, config());
    expect(of(findings, 'upstream').some((f) => f.message.includes('use-proxy-protocol'))).toBe(false);
  });
});

describe('the verbs the controller needs', () => {
  const described = (c: Config, cluster: { mode: 'corefile' | 'custom' | undefined; nodeLocal: boolean }) => requiredPermissions(c, cluster).map(describePermission);

  it('by default: sources, the upstream and hairpin slices in their namespaces, the CoreDNS ConfigMap, events, the Lease, the Secret, the removal', () => {
    const verbs = described(config(), { mode: 'corefile', nodeLocal: false });
    expect(verbs).toEqual(
      expect.arrayContaining([
        'list networking.k8s.io/ingresses (all namespaces)',
        'watch networking.k8s.io/ingressclasses (all namespaces)',
        'watch services/ingress-nginx-controller in ingress-nginx',
        'watch discovery.k8s.io/endpointslices in ingress-nginx',
        'watch discovery.k8s.io/endpointslices in hairpin-proxy',
        'get configmaps/coredns in kube-system',
        'patch configmaps/coredns in kube-system',
        'get secrets/hairpin-proxy-dataplane in hairpin-proxy',
        'get apps/deployments/hairpin-proxy in hairpin-proxy',
        'delete rbac.authorization.k8s.io/rolebindings/hairpin-proxy-cleanup in kube-system',
        'get configmaps/node-local-dns in kube-system',
        'create events (all namespaces)',
        'patch events (all namespaces)',
        'get coordination.k8s.io/leases/hairpin-proxy in hairpin-proxy',
        'update coordination.k8s.io/leases/hairpin-proxy in hairpin-proxy',
        'create coordination.k8s.io/leases in hairpin-proxy',
      ]),
    );
    expect(verbs.filter((v) => v.includes('gateway') || (v.startsWith('delete') && !v.includes('hairpin-proxy-cleanup')) || v.startsWith('update configmaps') || (v.includes('services') && v.includes('(all namespaces)')) || v === 'create configmaps in kube-system')).toEqual([]);
  });

  it('--target adds the hairpin Services and Gateway API; custom mode adds coredns-custom; node-local-dns present adds its writes; --no-leader-elect drops the Lease', () => {
    const c = config('--target', 'nginx=ingress-nginx/ingress-nginx-controller', '--no-leader-elect');
    const verbs = described(c, { mode: 'custom', nodeLocal: true });
    expect(verbs).toEqual(
      expect.arrayContaining([
        'delete services in hairpin-proxy',
        'create services in hairpin-proxy',
        'watch gateway.networking.k8s.io/tlsroutes (all namespaces)',
        'patch configmaps/coredns-custom in kube-system',
        'create configmaps in kube-system',
        'patch configmaps/node-local-dns in kube-system',
      ]),
    );
    expect(verbs.filter((v) => v.includes('leases'))).toEqual([]);
  });

  it('asks for the controller ServiceAccount of --target-namespace, with its groups', () => {
    expect(controllerUser(config('--target-namespace', 'edge'))).toEqual({
      user: 'system:serviceaccount:edge:hairpin-proxy',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:edge', 'system:authenticated'],
    });
  });
});
