/**
 * The Gateway API CRDs (GATEWAY_API_VERSION, experimental channel) in a real apiserver, installed
 * through the harness: the versions a Gateway controller reads are served, and a route's status
 * takes what such a controller writes there (status.parents[].conditions, Accepted=True), with
 * the fields the schema requires of it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cleanupAll, installGatewayApiCrds, makeTmpDir, startControlPlane, withLogs, type ControlPlane } from '../harness/index.js';

const GROUP = 'gateway.networking.k8s.io';
const CONTROLLER_NAME = 'example.com/gateway-controller';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

let plane: ControlPlane;

beforeAll(
  withLogs(async () => {
    const tmpDir = makeTmpDir('gateway-api-crds');
    plane = await startControlPlane({ tmpDir });
    await installGatewayApiCrds(plane, { channel: 'experimental', kinds: ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute'] });
  }),
  180_000,
);

afterAll(() => cleanupAll(), 60_000);

const raw = async <T>(path: string): Promise<T> => JSON.parse((await plane.kubectl(['get', '--raw', path])).stdout) as T;
const resources = async (version: string) =>
  (await raw<{ resources: Array<{ name: string }> }>(`/apis/${GROUP}/${version}`)).resources.map((r) => r.name).sort();

describe('the experimental Gateway API CRDs', () => {
  it(
    'serve exactly the chosen kinds, each preferably at v1',
    withLogs(async () => {
      const group = await raw<{ preferredVersion: { version: string }; versions: Array<{ version: string }> }>(`/apis/${GROUP}`);
      expect(group.preferredVersion.version).toBe('v1');
      expect(group.versions.map((v) => v.version).sort()).toEqual(['v1', 'v1alpha2', 'v1alpha3', 'v1beta1']);
      const withStatus = (...plurals: string[]) => plurals.flatMap((p) => [p, `${p}/status`]);
      expect(await resources('v1')).toEqual(withStatus('gatewayclasses', 'gateways', 'grpcroutes', 'httproutes', 'tlsroutes'));
      expect(await resources('v1beta1')).toEqual(withStatus('gatewayclasses', 'gateways', 'httproutes'));
      // TLSRoute's older versions are still served (deprecated) in this channel; not in standard.
      expect(await resources('v1alpha2')).toEqual(withStatus('tlsroutes'));
      expect(await resources('v1alpha3')).toEqual(withStatus('tlsroutes'));

      // NAME [SHORTNAMES] APIVERSION NAMESPACED KIND: the preferred version of each kind.
      const { stdout } = await plane.kubectl(['api-resources', `--api-group=${GROUP}`, '--no-headers']);
      const preferred = Object.fromEntries(
        stdout
          .trim()
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .map((columns) => [columns.at(-1), columns.at(-3)]),
      );
      expect(preferred).toEqual({
        GatewayClass: `${GROUP}/v1`,
        Gateway: `${GROUP}/v1`,
        GRPCRoute: `${GROUP}/v1`,
        HTTPRoute: `${GROUP}/v1`,
        TLSRoute: `${GROUP}/v1`,
      });
    }),
  );

  it(
    'take a Gateway and an HTTPRoute, and the status a Gateway controller writes on the route',
    withLogs(async () => {
      await plane.apply([
        { apiVersion: `${GROUP}/v1`, kind: 'GatewayClass', metadata: { name: 'example' }, spec: { controllerName: CONTROLLER_NAME } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
        {
          apiVersion: `${GROUP}/v1`,
          kind: 'Gateway',
          metadata: { name: 'web', namespace: 'team-a' },
          spec: { gatewayClassName: 'example', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
        },
        {
          apiVersion: `${GROUP}/v1`,
          kind: 'HTTPRoute',
          metadata: { name: 'shop', namespace: 'team-a' },
          spec: { parentRefs: [{ name: 'web' }], hostnames: ['shop.example.com'], rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }] },
        },
      ]);

      // The schema's defaults: a new Gateway says it waits for its controller; a parentRef is a Gateway.
      const gateway = await plane.getJson<{ status: { conditions: Condition[] } }>(['gateway', 'web', '-n', 'team-a']);
      expect(gateway.status.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
        ['Accepted', 'Unknown', 'Pending'],
        ['Programmed', 'Unknown', 'Pending'],
      ]);
      const route = await plane.getJson<{ metadata: { generation: number }; spec: { parentRefs: object[] } }>(['httproute', 'shop', '-n', 'team-a']);
      expect(route.spec.parentRefs).toEqual([{ group: GROUP, kind: 'Gateway', name: 'web' }]);

      const accepted = {
        type: 'Accepted',
        status: 'True',
        reason: 'Accepted',
        message: 'Route is accepted',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        observedGeneration: route.metadata.generation,
      };
      const patchStatus = (parents: object[]) =>
        plane.kubectl(['patch', 'httproute', 'shop', '-n', 'team-a', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { parents } })], {
          allowFail: true,
        });

      // A parent entry without its controllerName, or a condition without reason, message and
      // lastTransitionTime, is refused: a controller must always write all of them.
      const refused = await patchStatus([{ parentRef: { name: 'web' }, conditions: [{ type: 'Accepted', status: 'True' }] }]);
      expect(refused.code).not.toBe(0);
      for (const field of ['controllerName', 'conditions[0].reason', 'conditions[0].message', 'conditions[0].lastTransitionTime']) {
        expect(refused.stderr).toContain(`status.parents[0].${field}: Required value`);
      }

      const written = await patchStatus([{ parentRef: { group: GROUP, kind: 'Gateway', name: 'web' }, controllerName: CONTROLLER_NAME, conditions: [accepted] }]);
      expect(written).toMatchObject({ code: 0 }); // shows kubectl's stderr when not
      const updated = await plane.getJson<{
        metadata: { generation: number };
        status: { parents: Array<{ controllerName: string; parentRef: object; conditions: Condition[] }> };
      }>(['httproute', 'shop', '-n', 'team-a']);
      expect(updated.metadata.generation).toBe(route.metadata.generation); // status writes do not bump it
      expect(updated.status.parents).toEqual([{ parentRef: { group: GROUP, kind: 'Gateway', name: 'web' }, controllerName: CONTROLLER_NAME, conditions: [accepted] }]);
    }),
  );
});
