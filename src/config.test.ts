import { describe, expect, it } from '@jest/globals';
import { ConfigError, envName, FLAGS, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has sane defaults', () => {
    expect(loadConfig([], {})).toEqual({
      kubeconfig: undefined,
      ingressClasses: [],
      targets: [],
      optIn: false,
      rewriteWhenIpModeProxy: false,
      gatewayApiRecheckMs: 60_000,
      ingressController: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' },
      proxyProtocol: 'v1',
      haproxyPorts: [80, 443],
      targetService: 'hairpin-proxy-haproxy',
      targetNamespace: 'hairpin-proxy',
      clusterDomain: 'cluster.local',
      corednsNamespace: 'kube-system',
      corednsConfigMap: 'coredns',
      corednsKey: 'Corefile',
      corednsMode: 'auto',
      corednsCustomConfigMap: 'coredns-custom',
      nodeLocalDns: 'auto',
      resyncMs: 300_000,
      writeIntervalMs: 1000,
      listenAddress: { host: '0.0.0.0', port: 8080 },
      logLevel: 'info',
      once: false,
      dryRun: false,
      haproxy: {
        clusterIpFallback: false,
        dataplaneUrls: [],
        dataplanePort: 5555,
        dataplaneUsername: 'admin',
        dataplanePassword: '',
        dataplaneSecret: 'hairpin-proxy-dataplane',
      },
      leaderElection: { leaseDurationMs: 15_000, identity: expect.stringMatching(/_\d+$/) },
      installName: 'hairpin-proxy',
    });
  });

  it('names the leader candidate after its pod, and can leave leader election off', () => {
    expect(loadConfig(['--leader-election-lease', '30s'], { POD_NAME: 'hairpin-proxy-7d9f-x2' }).leaderElection).toEqual({ leaseDurationMs: 30_000, identity: 'hairpin-proxy-7d9f-x2' });
    expect(loadConfig(['--no-leader-elect'], {}).leaderElection).toBeUndefined();
  });

  it.each([
    [['--no-manage-haproxy'], {}],
    [[], { HAIRPIN_MANAGE_HAPROXY: 'false' }],
  ])('leaves HAProxy alone when told to (%j %j)', (argv, env) => {
    expect(loadConfig(argv, env).haproxy).toBeUndefined();
  });

  it('reads the HAProxy settings, the password from the environment, and never logs it', async () => {
    const config = loadConfig(['--ingress-controller', 'ingress/nginx', '--haproxy-ports', '8080', '--proxy-protocol', 'v2', '--dataplane-url', 'http://127.0.0.1:5555/v3'], {
      HAIRPIN_DATAPLANE_PASSWORD: 's3cret',
    });
    expect(config).toMatchObject({ ingressController: { namespace: 'ingress', name: 'nginx' }, haproxyPorts: [8080], proxyProtocol: 'v2' });
    expect(config.haproxy).toMatchObject({ dataplaneUrls: ['http://127.0.0.1:5555/v3'], dataplanePassword: 's3cret' });
    const { loggableConfig } = await import('./config.js');
    expect(JSON.stringify(loggableConfig(config))).not.toContain('s3cret');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(loadConfig([], {}))).toBe(true);
  });

  it('reads repeatable flags, environment variables, and lets flags win', () => {
    const config = loadConfig(['--ingress-class', 'nginx', '--ingress-class', 'internal', '--cluster-domain', 'k8s.internal'], {
      HAIRPIN_CLUSTER_DOMAIN: 'ignored.local',
      HAIRPIN_RESYNC: '30s',
      HAIRPIN_DRY_RUN: 'true',
    });
    expect(config.ingressClasses).toEqual(['nginx', 'internal']);
    expect(config.clusterDomain).toBe('k8s.internal');
    expect(config.resyncMs).toBe(30_000);
    expect(config.dryRun).toBe(true);
  });

  it.each([
    ['0s', 0],
    ['250ms', 250],
    ['1s', 1000],
    ['1m', 60_000],
  ])('takes --write-interval %s (0s: every change is written at once)', (value, ms) => {
    expect(loadConfig(['--write-interval', value], {}).writeIntervalMs).toBe(ms);
  });

  it('reads a comma-separated class list from the environment', () => {
    expect(loadConfig([], { HAIRPIN_INGRESS_CLASS: 'nginx, public' }).ingressClasses).toEqual(['nginx', 'public']);
  });

  it('reads comma-separated lists from the command line too, repeated or not', () => {
    expect(loadConfig(['--haproxy-ports', '80,443'], {}).haproxyPorts).toEqual([80, 443]);
    expect(loadConfig(['--haproxy-ports', '80', '--haproxy-ports', '8443,9443'], {}).haproxyPorts).toEqual([80, 8443, 9443]);
    expect(loadConfig(['--ingress-class', 'nginx,public'], {}).ingressClasses).toEqual(['nginx', 'public']);
  });

  const bad: ReadonlyArray<[argv: string[], flag: string]> = [
    [['--target-service', 'Not_A_Name'], 'target-service'],
    [['--target-namespace', ''], 'target-namespace'],
    [['--cluster-domain', 'bad domain'], 'cluster-domain'],
    [['--coredns-key', 'a/b'], 'coredns-key'],
    [['--resync', '5 minutes'], 'resync'],
    [['--resync', '10ms'], 'resync'],
    [['--write-interval', '1h'], 'write-interval'],
    [['--write-interval', '2m'], 'write-interval'],
    [['--write-interval', 'fast'], 'write-interval'],
    [['--listen-address', 'localhost'], 'listen-address'],
    [['--listen-address', ':99999'], 'listen-address'],
    [['--log-level', 'loud'], 'log-level'],
    [['--ingress-class', 'UPPER'], 'ingress-class'],
    [['--no-such-flag'], 'no-such-flag'],
    [['--ingress-controller', 'just-a-name'], 'ingress-controller'],
    [['--haproxy-ports', '80,http'], 'haproxy-ports'],
    [['--haproxy-ports', '70000'], 'haproxy-ports'],
    [['--proxy-protocol', 'v3'], 'proxy-protocol'],
    [['--dataplane-url', 'ftp://x'], 'dataplane-url'],
    [['--dataplane-port', '0'], 'dataplane-port'],
    [['--leader-election-lease', '2s'], 'leader-election-lease'],
    [['--coredns-mode', 'hosts'], 'coredns-mode'],
    [['--node-local-dns', 'yes'], 'node-local-dns'],
    [['--coredns-custom-configmap', 'Bad_Name'], 'coredns-custom-configmap'],
    [['--target', 'nginx'], 'target'],
    [['--target', 'nginx=ingress-nginx'], 'target'],
    [['--target', 'nginx=ingress-nginx/controller:v3'], 'target'],
    [['--target', 'Nginx=ingress-nginx/controller'], 'target'],
    [['--target', 'gateway/infra=envoy-gateway-system/envoy'], 'target'],
    [['--target', 'nginx=Bad_Ns/controller'], 'target'],
    [['--target', 'nginx=a/b', '--target', 'nginx=c/d'], 'target'],
    [['--target', 'nginx=a/b', '--target', 'traefik=a/b'], 'target'],
    [['--target', 'nginx=a/b', '--haproxy-ports', '1,2,3,4,5,6,7,8,9,10,11'], 'haproxy-ports'],
  ];

  it.each(bad)('refuses %j naming --%s', (argv, flag) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(`--${flag}`);
  });

  it('reads --target entries: classes and Gateways, the upstream, and an optional PROXY version', () => {
    const config = loadConfig(['--target', 'nginx,internal=ingress-nginx/ingress-nginx-controller', '--target', 'eg,gateway/infra/public=envoy-gateway-system/envoy-public:v2'], {});
    expect(config.targets).toEqual([
      { keys: [{ kind: 'class', name: 'nginx' }, { kind: 'class', name: 'internal' }], upstream: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' }, proxyProtocol: undefined },
      { keys: [{ kind: 'class', name: 'eg' }, { kind: 'gateway', namespace: 'infra', name: 'public' }], upstream: { namespace: 'envoy-gateway-system', name: 'envoy-public' }, proxyProtocol: 'v2' },
    ]);
  });

  it('reads ;-separated --target entries from HAIRPIN_TARGET', () => {
    const config = loadConfig([], { HAIRPIN_TARGET: 'nginx,internal=ingress-nginx/controller; eg=envoy/gw:v1' });
    expect(config.targets.map((t) => [t.keys.length, t.upstream.name, t.proxyProtocol])).toEqual([
      [2, 'controller', undefined],
      [1, 'gw', 'v1'],
    ]);
  });

  it('refuses a malformed boolean from the environment', () => {
    expect(() => loadConfig([], { HAIRPIN_ONCE: 'yes please' })).toThrow('--once');
  });

  it('documents an environment variable for every flag', () => {
    expect(FLAGS.map((f) => envName(f.name))).toContain('HAIRPIN_COREDNS_CONFIGMAP');
  });
});
