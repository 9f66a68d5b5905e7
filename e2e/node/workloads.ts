/**
 * What runs on the node besides hairpin-proxy: CoreDNS as kubeadm deploys it, an "ingress-nginx"
 * that requires the PROXY protocol on every listener behind a LoadBalancer Service, the Ingress
 * of the test host, and the cert-manager-like client Pod. Plus the kustomize overlays that install
 * deploy/ with the local images, unchanged otherwise.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { haproxyBaseConfig } from '../harness/dataplane-config.js';
import { REPO_ROOT } from '../harness/index.js';
import { ingressServers } from '../story/ingress-nginx.js';
import type { KeyPair } from '../story/certs.js';
import { NODE } from './cluster.js';

export const INGRESS_NAMESPACE = 'ingress-nginx';
export const INGRESS_SERVICE = 'ingress-nginx-controller';
export const CLIENT_NAMESPACE = 'cert-manager';
export const CLIENT_POD = 'self-check';
export const APP_NAMESPACE = 'shop';

/** kubeadm's Corefile, byte for byte (the unit tests' fixture): `reload` keeps its default interval. */
export const KUBEADM_COREFILE = readFileSync(join(REPO_ROOT, 'src', 'coredns', 'fixtures', 'kubeadm.Corefile'), 'utf8');

/** CoreDNS the way kubeadm installs it: RBAC, the coredns ConfigMap, a Deployment, the kube-dns Service. */
export function corednsObjects(image: string): object[] {
  const labels = { 'k8s-app': 'kube-dns' };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: 'kube-system' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns' },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: KUBEADM_COREFILE } },
    singleReplicaDeployment('kube-system', 'coredns', labels, {
      serviceAccountName: 'coredns',
      dnsPolicy: 'Default',
      containers: [
        {
          name: 'coredns',
          image,
          imagePullPolicy: 'Never',
          args: ['-conf', '/etc/coredns/Corefile'],
          ports: [
            { name: 'dns', containerPort: 53, protocol: 'UDP' },
            { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
          ],
          readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, readOnlyRootFilesystem: true },
          volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
        },
      ],
      volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }],
    }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
      spec: {
        clusterIP: NODE.kubeDns,
        selector: labels,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      },
    },
  ];
}

/** nginx as ingress-nginx runs with use-proxy-protocol: every listener requires the PROXY header. */
export function ingressNginxObjects(image: string, host: string, certificate: KeyPair): object[] {
  const labels = { 'app.kubernetes.io/name': 'ingress-nginx' };
  const config = `# ingress-nginx with use-proxy-protocol: "true", reduced to one Ingress and cert-manager's solver path.
worker_processes 1;
pid /work/nginx.pid;
error_log stderr;
events { worker_connections 1024; }
http {
    client_body_temp_path /work/client_body;
    proxy_temp_path /work/proxy;
    fastcgi_temp_path /work/fastcgi;
    uwsgi_temp_path /work/uwsgi;
    scgi_temp_path /work/scgi;
${ingressServers({ address: '0.0.0.0', host, challengeRoot: '/work/www', certificate: { certPath: '/etc/ingress/tls.crt', keyPath: '/etc/ingress/tls.key' } })}
}
`;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ingress-nginx', namespace: INGRESS_NAMESPACE },
      data: { 'nginx.conf': config, 'tls.crt': readFileSync(certificate.certPath, 'utf8'), 'tls.key': readFileSync(certificate.keyPath, 'utf8') },
    },
    singleReplicaDeployment(INGRESS_NAMESPACE, INGRESS_SERVICE, labels, {
      containers: [
        {
          name: 'controller',
          image,
          imagePullPolicy: 'Never',
          command: ['/usr/sbin/nginx', '-c', '/etc/ingress/nginx.conf', '-p', '/work', '-e', 'stderr', '-g', 'daemon off;'],
          ports: [
            { name: 'http', containerPort: 80 },
            { name: 'https', containerPort: 443 },
          ],
          readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 2 },
          volumeMounts: [
            { name: 'config', mountPath: '/etc/ingress', readOnly: true },
            { name: 'work', mountPath: '/work' },
          ],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'ingress-nginx' } },
        { name: 'work', emptyDir: {} },
      ],
    }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: INGRESS_SERVICE, namespace: INGRESS_NAMESPACE },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Cluster',
        selector: labels,
        ports: [
          { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
          { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
        ],
      },
    },
    { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
  ];
}

function singleReplicaDeployment(namespace: string, name: string, labels: Record<string, string>, podSpec: object): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
  };
}

/** The application's Ingress: what hairpin-proxy routes. */
export function appIngress(name: string, host: string): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NAMESPACE } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: APP_NAMESPACE },
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }],
      },
    },
  ];
}

/** cert-manager's stand-in: a Pod whose network the self-check runs in. */
export function clientObjects(image: string): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CLIENT_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: CLIENT_POD, namespace: CLIENT_NAMESPACE },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'client', image, imagePullPolicy: 'Never' }] },
    },
  ];
}

export interface OverlayImages {
  readonly controller: string;
  readonly haproxy: string;
}

/**
 * deploy/base with only the image names changed, as a user with a mirror would do it. Where the
 * Data Plane API cannot be had, the "static-haproxy" overlay instead gives HAProxy a fixed
 * configuration forwarding to the ingress Service's ClusterIP, drops the API container, and runs
 * the controller with --no-manage-haproxy.
 */
export function writeOverlay(dir: string, images: OverlayImages, staticHaproxy?: { ingressClusterIp: string }): string {
  mkdirSync(dir, { recursive: true });
  const image = (ref: string) => {
    const [name = '', tag = ''] = ref.split(/:(?=[^:]+$)/);
    return { newName: name, newTag: tag };
  };
  const kustomization: Record<string, unknown> = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    // kustomize refuses an absolute base; a relative one may lead anywhere.
    resources: [relative(dir, join(REPO_ROOT, 'deploy', 'base'))],
    images: [
      { name: 'ghcr.io/hairpin-proxy/hairpin-proxy', ...image(images.controller) },
      { name: 'haproxytech/haproxy-debian', ...image(images.haproxy) },
    ],
  };
  if (staticHaproxy) {
    kustomization.patches = [
      {
        target: { kind: 'Deployment', name: 'hairpin-haproxy' },
        patch: JSON.stringify([{ op: 'remove', path: '/spec/template/spec/containers/1' }]),
      },
      {
        target: { kind: 'Deployment', name: 'hairpin-proxy' },
        patch: JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/args/-', value: '--no-manage-haproxy' }]),
      },
      {
        target: { kind: 'ConfigMap', name: 'hairpin-proxy-haproxy' },
        patch: JSON.stringify([{ op: 'replace', path: '/data/haproxy.cfg', value: staticHaproxyConfig(staticHaproxy.ingressClusterIp) }]),
      },
    ];
  }
  // JSON is YAML, and keeps the multi-line patch values exactly (no folding).
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
  return dir;
}

function staticHaproxyConfig(ingressClusterIp: string): string {
  const port = (p: number) => `frontend hairpin_frontend_${p}
    bind :${p}
    default_backend hairpin_ingress_${p}

backend hairpin_ingress_${p}
    server ingress ${ingressClusterIp}:${p} send-proxy
`;
  // The tested base (global, defaults) with the two frontends nobody adds at run time here.
  return `${haproxyBaseConfig({ runtimeSocket: '/run/hairpin-haproxy/runtime.sock' })}\n${port(80)}\n${port(443)}`;
}

/** deploy/node (the hosts-file DaemonSet) with only the controller image changed. */
export function writeNodeOverlay(dir: string, controllerImage: string): string {
  mkdirSync(dir, { recursive: true });
  const [newName = '', newTag = ''] = controllerImage.split(/:(?=[^:]+$)/);
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [relative(dir, join(REPO_ROOT, 'deploy', 'node'))],
    images: [{ name: 'ghcr.io/hairpin-proxy/hairpin-proxy', newName, newTag }],
  };
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
  return dir;
}
