import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { loadConfig } from '../config.js';
import { desiredHaproxy, DEFAULT_HAPROXY_POLICY } from '../haproxy/desired.js';
import { discoveredReplicas } from '../haproxy/replicas.js';
import { creationTimestampOf, type EndpointSliceLike, type IngressLike, type ServiceLike } from '../model/objects.js';
import { planRoutes, routePolicyOf } from '../plan/routes.js';
import { listInPages, type ListPage } from './informer.js';
import { LAST_APPLIED_ANNOTATION, slimEndpointSlice, slimGateway, slimIngress, slimIngressClass, slimRoute, slimService, slimToMeta, stripMetadata } from './slim.js';

/** What the apiserver sends besides what is read: every slim must drop all of it. */
const managedFields = [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }];
const meta = (extra: object = {}) => ({
  name: 'shop',
  namespace: 'web',
  uid: 'u-1',
  resourceVersion: '42',
  generation: 3,
  creationTimestamp: '2024-05-01T10:00:00Z',
  labels: { app: 'shop' },
  annotations: { [LAST_APPLIED_ANNOTATION]: '{"a whole":"copy"}', 'hairpin-proxy.io/enabled': 'true' },
  managedFields,
  ...extra,
});
const keptMeta = { name: 'shop', namespace: 'web', uid: 'u-1', resourceVersion: '42', creationTimestamp: '2024-05-01T10:00:00Z', annotations: { 'hairpin-proxy.io/enabled': 'true' } };

describe('slimming an object before it enters the cache', () => {
  it.each([
    {
      kind: 'an Ingress keeps its class and hosts, drops paths, backends and status',
      slim: slimIngress,
      full: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: meta(),
        spec: {
          ingressClassName: 'nginx',
          defaultBackend: { service: { name: 'web', port: { number: 80 } } },
          rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }, { http: { paths: [] } }],
          tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
        },
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
      },
      kept: { metadata: keptMeta, spec: { ingressClassName: 'nginx', rules: [{ host: 'shop.example.com' }, {}], tls: [{ hosts: ['shop.example.com'] }] } },
    },
    {
      kind: 'an IngressClass keeps its name and annotations',
      slim: slimIngressClass,
      full: { kind: 'IngressClass', metadata: meta({ namespace: undefined }), spec: { controller: 'k8s.io/ingress-nginx', parameters: { kind: 'X', name: 'y' } } },
      kept: { metadata: { ...keptMeta, namespace: undefined } },
    },
    {
      kind: 'a Service keeps addresses, ports, selector, labels and load balancer ingress',
      slim: slimService,
      full: {
        kind: 'Service',
        metadata: meta(),
        spec: {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.10',
          clusterIPs: ['10.96.0.10', 'fd00::10'],
          selector: { app: 'shop' },
          ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 31000, appProtocol: 'http' }],
          sessionAffinity: 'None',
          ipFamilies: ['IPv4', 'IPv6'],
          externalTrafficPolicy: 'Local',
        },
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'Proxy', ports: [{ port: 80, protocol: 'TCP' }] }] }, conditions: [] },
      },
      kept: {
        metadata: { ...keptMeta, labels: { app: 'shop' } },
        spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::10'], selector: { app: 'shop' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }] },
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'Proxy' }] } },
      },
    },
    {
      kind: 'an EndpointSlice keeps addresses, readiness, the pod and ports',
      slim: slimEndpointSlice,
      full: {
        kind: 'EndpointSlice',
        metadata: meta(),
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: ['10.244.0.5'],
            conditions: { ready: false, serving: true, terminating: true },
            nodeName: 'node-1',
            zone: 'a',
            hints: { forZones: [{ name: 'a' }] },
            targetRef: { kind: 'Pod', namespace: 'web', name: 'shop-1', uid: 'p-1', resourceVersion: '7' },
          },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
      },
      kept: {
        metadata: { ...keptMeta, labels: { app: 'shop' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: false }, targetRef: { kind: 'Pod', namespace: 'web', name: 'shop-1', uid: 'p-1' } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    },
    {
      kind: 'a watched-only ConfigMap keeps no data',
      slim: slimToMeta,
      full: { kind: 'ConfigMap', metadata: meta(), data: { Corefile: '.:53 {\n}\n' } },
      kept: { metadata: keptMeta },
    },
    {
      kind: 'a Gateway keeps its class and what attaches routes to its listeners',
      slim: slimGateway,
      full: {
        kind: 'Gateway',
        metadata: meta(),
        spec: {
          gatewayClassName: 'eg',
          listeners: [{ name: 'https', hostname: '*.example.com', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'c' }] }, allowedRoutes: { namespaces: { from: 'All' }, kinds: [{ kind: 'HTTPRoute' }] } }],
        },
        status: { addresses: [{ value: '203.0.113.10' }], listeners: [{ name: 'https', attachedRoutes: 3 }] },
      },
      kept: {
        kind: 'Gateway',
        metadata: keptMeta,
        spec: { gatewayClassName: 'eg', listeners: [{ name: 'https', hostname: '*.example.com', port: 443, protocol: 'HTTPS', allowedRoutes: { namespaces: { from: 'All' } } }] },
      },
    },
    {
      kind: 'a route keeps hostnames, parents and whether they accepted it, drops its rules',
      slim: slimRoute,
      full: {
        kind: 'HTTPRoute',
        apiVersion: 'gateway.networking.k8s.io/v1',
        metadata: meta(),
        spec: { hostnames: ['shop.example.com'], parentRefs: [{ name: 'gw', sectionName: 'https' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
        status: {
          parents: [{ parentRef: { name: 'gw' }, controllerName: 'eg', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', lastTransitionTime: '2024-05-01T10:00:00Z' }] }],
        },
      },
      kept: {
        kind: 'HTTPRoute',
        apiVersion: 'gateway.networking.k8s.io/v1',
        metadata: keptMeta,
        spec: { hostnames: ['shop.example.com'], parentRefs: [{ name: 'gw', sectionName: 'https' }] },
        status: { parents: [{ parentRef: { name: 'gw' }, conditions: [{ type: 'Accepted', status: 'True' }] }] },
      },
    },
  ])('$kind', ({ slim, full, kept }) => {
    const slimmed = (slim as (o: unknown) => unknown)(full);
    expect(slimmed).toEqual(kept);
    // Slimming twice changes nothing: a relisted object that did not change stays the same.
    expect((slim as (o: unknown) => unknown)(slimmed)).toEqual(slimmed);
  });

  it('leaves other kinds whole, less managedFields and the last-applied copy', () => {
    const full = { kind: 'Thing', metadata: meta(), spec: { anything: [1, 2] }, status: { phase: 'Up' } };
    expect(stripMetadata(full)).toEqual({ kind: 'Thing', metadata: { ...keptMeta, labels: { app: 'shop' } }, spec: { anything: [1, 2] }, status: { phase: 'Up' } });
  });

  it('shares nothing with what arrived, so the response can be collected', () => {
    const full = { metadata: meta(), spec: { rules: [{ host: 'a.example.com' }], tls: [{ hosts: ['a.example.com'] }] } };
    const slimmed = slimIngress(full);
    full.spec.rules[0] = { host: 'changed.example.com' };
    (full.spec.tls[0]?.hosts ?? []).push('more.example.com');
    expect(slimmed.spec).toEqual({ rules: [{ host: 'a.example.com' }], tls: [{ hosts: ['a.example.com'] }] });
  });

  it('gives a listed object (client-node made creationTimestamp a Date) the watched form (a string)', () => {
    const listed = slimIngress({ metadata: { name: 'a', creationTimestamp: new Date('2024-05-01T10:00:00Z') } });
    const watched = slimIngress({ metadata: { name: 'a', creationTimestamp: '2024-05-01T10:00:00Z' } });
    expect(listed).toEqual(watched);
  });

  it('writes creation times that compare as strings in time order', () => {
    // Whole seconds: what the apiserver stores.
    const second = fc.integer({ min: 0, max: 4_102_444_800 }).map((s) => new Date(s * 1000));
    fc.assert(
      fc.property(second, second, (a, b) => {
        const [x, y] = [creationTimestampOf({ creationTimestamp: a }) ?? '', creationTimestampOf({ creationTimestamp: b }) ?? ''];
        expect(Math.sign(x.localeCompare(y, 'en'))).toBe(Math.sign(a.getTime() - b.getTime()));
        expect(x).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }),
    );
  });
});

describe('slimming never changes what is planned', () => {
  const noise = { managedFields, labels: { team: 'a' }, generation: 2 };
  const annotations = fc.dictionary(fc.constantFrom('hairpin-proxy.io/enabled', 'kubernetes.io/ingress.class', LAST_APPLIED_ANNOTATION, 'cert-manager.io/cluster-issuer'), fc.constantFrom('true', 'false', 'nginx', '{}'));
  const host = fc.constantFrom('a.example.com', 'b.example.com', '*.example.com', 'Bad_Host', '', 'x.cluster.local');
  const ingress: fc.Arbitrary<IngressLike> = fc.record({
    name: fc.constantFrom('a', 'b', 'c'),
    namespace: fc.constantFrom('x', 'y'),
    annotations,
    className: fc.option(fc.constantFrom('nginx', 'other'), { nil: undefined }),
    hosts: fc.array(fc.option(host, { nil: undefined }), { maxLength: 3 }),
    tls: fc.array(fc.array(host, { maxLength: 2 }), { maxLength: 2 }),
  }).map((i) => ({
    kind: 'Ingress',
    metadata: { name: i.name, namespace: i.namespace, annotations: i.annotations, ...noise },
    spec: {
      ...(i.className === undefined ? {} : { ingressClassName: i.className }),
      rules: i.hosts.map((h) => ({ ...(h === undefined ? {} : { host: h }), http: { paths: [{ path: '/' }] } })),
      tls: i.tls.map((hosts) => ({ hosts, secretName: 's' })),
    },
  }));

  it('plans the same routes from slimmed Ingresses as from whole ones', () => {
    // The defaults of every flag, as the controller runs without any.
    const policy = routePolicyOf(loadConfig([], {}));
    fc.assert(
      fc.property(fc.array(ingress, { maxLength: 6 }), fc.boolean(), (ingresses, optIn) => {
        const plan = (objects: readonly IngressLike[]) => planRoutes({ ingresses: objects, ingressClasses: [] }, { ...policy, optIn });
        expect(plan(ingresses.map(slimIngress))).toEqual(plan(ingresses));
      }),
    );
  });

  it('configures HAProxy and finds replicas the same from a slimmed Service and EndpointSlices', () => {
    const service: ServiceLike = {
      metadata: { name: 'ingress-nginx-controller', namespace: 'ingress-nginx', ...noise },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }, { name: 'https', port: 443 }] },
    };
    const endpoint = fc.record({ address: fc.constantFrom('10.0.0.1', '10.0.0.2', 'fd00::1'), ready: fc.option(fc.boolean(), { nil: undefined }), pod: fc.boolean() });
    const slice: fc.Arbitrary<EndpointSliceLike> = fc.array(endpoint, { maxLength: 4 }).map((endpoints) => ({
      metadata: { name: 's', namespace: 'ingress-nginx', ...noise },
      addressType: 'IPv4',
      endpoints: endpoints.map((e) => ({
        addresses: [e.address],
        conditions: { ...(e.ready === undefined ? {} : { ready: e.ready }), serving: true },
        nodeName: 'n',
        ...(e.pod ? { targetRef: { kind: 'Pod', namespace: 'ingress-nginx', name: `p-${e.address}`, uid: 'u' } } : {}),
      })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'https', port: 8443 }, { name: 'dataplane', port: 5555 }],
    }));
    fc.assert(
      fc.property(fc.array(slice, { maxLength: 3 }), (slices) => {
        const haproxy = (s: ServiceLike, es: readonly EndpointSliceLike[]) =>
          desiredHaproxy([{ name: 'main', proxyProtocol: 'v1', ports: [{ port: 80, listenPort: 80 }, { port: 443, listenPort: 443 }], target: { service: s, slices: es } }], DEFAULT_HAPROXY_POLICY);
        expect(haproxy(slimService(service), slices.map(slimEndpointSlice))).toEqual(haproxy(service, slices));
        expect(discoveredReplicas(slices.map(slimEndpointSlice), 5555)).toEqual(discoveredReplicas(slices, 5555));
      }),
    );
  });
});

describe('listing in pages', () => {
  const item = (name: string): KubernetesObject => ({ metadata: { name, namespace: 'x', resourceVersion: '1', managedFields: [{ manager: 'm' }] } });
  const pages: Record<string, KubernetesListObject<KubernetesObject>> = {
    first: { items: [item('a'), item('b')], metadata: { resourceVersion: '100', _continue: 'c1' } },
    c1: { items: [item('c')], metadata: { resourceVersion: '100', _continue: 'c2' } },
    c2: { items: [], metadata: { resourceVersion: '100' } },
  };

  it('asks page after page with the continue token, slims each item, and ends at the page without one', async () => {
    const asked: ListPage[] = [];
    const list = await listInPages(
      { name: 'things', path: '/things', list: (_options, page) => (asked.push(page), Promise.resolve(pages[page._continue ?? 'first'] as KubernetesListObject<KubernetesObject>)) },
      stripMetadata,
      new AbortController().signal,
    );
    expect(asked).toEqual([{ limit: 500 }, { limit: 500, _continue: 'c1' }, { limit: 500, _continue: 'c2' }]);
    expect(list.items.map((i) => i.metadata)).toEqual(['a', 'b', 'c'].map((name) => ({ name, namespace: 'x', resourceVersion: '1' })));
    expect(list.metadata).toEqual({ resourceVersion: '100' });
    expect(list.pages).toBe(3);
  });

  it('takes a list that ignores the limit whole, in one page', async () => {
    const list = await listInPages(
      { name: 'things', path: '/things', list: () => Promise.resolve({ items: [item('a'), item('b')], metadata: { resourceVersion: '7' } }) },
      stripMetadata,
      new AbortController().signal,
    );
    expect([list.items.length, list.pages, list.metadata.resourceVersion]).toEqual([2, 1, '7']);
  });
});
