import { describe, expect, it } from '@jest/globals';
import { ConfigError, envName, FLAGS, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has sane defaults', () => {
    expect(loadConfig([], {})).toEqual({
      kubeconfig: undefined,
      ingressClasses: [],
      targetService: 'hairpin-proxy-haproxy',
      targetNamespace: 'hairpin-proxy',
      clusterDomain: 'cluster.local',
      corednsNamespace: 'kube-system',
      corednsConfigMap: 'coredns',
      corednsKey: 'Corefile',
      resyncMs: 300_000,
      listenAddress: { host: '0.0.0.0', port: 8080 },
      logLevel: 'info',
      once: false,
      dryRun: false,
    });
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

  it('reads a comma-separated class list from the environment', () => {
    expect(loadConfig([], { HAIRPIN_INGRESS_CLASS: 'nginx, public' }).ingressClasses).toEqual(['nginx', 'public']);
  });

  const bad: ReadonlyArray<[argv: string[], flag: string]> = [
    [['--target-service', 'Not_A_Name'], 'target-service'],
    [['--target-namespace', ''], 'target-namespace'],
    [['--cluster-domain', 'bad domain'], 'cluster-domain'],
    [['--coredns-key', 'a/b'], 'coredns-key'],
    [['--resync', '5 minutes'], 'resync'],
    [['--resync', '10ms'], 'resync'],
    [['--listen-address', 'localhost'], 'listen-address'],
    [['--listen-address', ':99999'], 'listen-address'],
    [['--log-level', 'loud'], 'log-level'],
    [['--ingress-class', 'UPPER'], 'ingress-class'],
    [['--no-such-flag'], 'no-such-flag'],
  ];

  it.each(bad)('refuses %j naming --%s', (argv, flag) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(`--${flag}`);
  });

  it('refuses a malformed boolean from the environment', () => {
    expect(() => loadConfig([], { HAIRPIN_ONCE: 'yes please' })).toThrow('--once');
  });

  it('documents an environment variable for every flag', () => {
    expect(FLAGS.map((f) => envName(f.name))).toContain('HAIRPIN_COREDNS_CONFIGMAP');
  });
});
