import { describe, expect, it } from '@jest/globals';
import { main } from '../cli-main.js';
import { ConfigError } from '../config.js';
import { KubeError } from '../kube/errors.js';
import { doctorCommand, type DoctorDeps } from './doctor.js';
import type { DoctorSnapshot } from './doctor-checks.js';
import { UsageError, type CommandIO } from './io.js';

const CLEAN: DoctorSnapshot = {
  coredns: { data: { Corefile: '.:53 {\n    errors\n}\n' }, labels: {} },
  kubeDns: { configMap: false, deployment: false },
  custom: undefined,
  nodeLocal: undefined,
  sources: { ingresses: [], ingressClasses: [], services: [{ metadata: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' } }] },
  upstreams: [
    {
      key: 'ingress-nginx/ingress-nginx-controller',
      service: { metadata: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' } },
      slices: [{ endpoints: [{ addresses: ['10.0.0.1'] }] }],
      nginxConfigMap: undefined,
    },
  ],
  hairpin: { service: { metadata: { name: 'hairpin-proxy-haproxy' } }, slices: [{ endpoints: [{ addresses: ['10.0.0.2'] }] }] },
  deployments: [],
  permissions: [],
};

async function run(argv: string[], deps: DoctorDeps) {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stdin: async () => '' };
  const code = await doctorCommand(argv, io, {}, { apiserver: 'https://127.0.0.1:6443', ...deps });
  return { code, stdout, stderr };
}

describe('hairpin-proxy doctor', () => {
  it('--output json: exactly {healthy, findings[{check, severity, message, fix}]}; exit 0 when healthy', async () => {
    const { code, stdout } = await run(['--output', 'json'], { read: async () => CLEAN });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { healthy: boolean; findings: Array<Record<string, unknown>> };
    expect(Object.keys(report)).toEqual(['healthy', 'findings']);
    expect(report.healthy).toBe(true);
    for (const finding of report.findings) {
      expect(Object.keys(finding)).toEqual(['check', 'severity', 'message', 'fix']);
      expect(finding.fix).toBeNull();
    }
  });

  it('text: one line per finding, then its fix; exit 1 when there are problems', async () => {
    const { code, stdout } = await run(['-o', 'text'], { read: async () => ({ ...CLEAN, hairpin: { service: undefined, slices: [] } }) });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^ok {6}dns-flavour {7}CoreDNS: ConfigMap kube-system\/coredns has the key Corefile$/m);
    expect(stdout).toMatch(/^error {3}haproxy-replicas {2}the hairpin Service hairpin-proxy\/hairpin-proxy-haproxy not found.*\n {2}fix: apply deploy\/base/m);
  });

  it('passes run\'s flags to loadConfig', async () => {
    let seen = '';
    await run(['--coredns-namespace', 'dns', '--output=json'], { read: async (config) => ((seen = config.corednsNamespace), CLEAN) });
    expect(seen).toBe('dns');
  });

  it('exit 2 naming the apiserver when a read fails', async () => {
    const { code, stdout, stderr } = await run([], { read: async () => Promise.reject(new Error('list Ingresses: Unavailable: connect ECONNREFUSED')) });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('hairpin-proxy doctor: could not check: list Ingresses: Unavailable: connect ECONNREFUSED (apiserver https://127.0.0.1:6443)\n');
  });

  it('exit 2 saying the apiserver did not answer when it cannot be reached', async () => {
    const unreachable = new KubeError('Unavailable', 'read ConfigMap kube-system/coredns', undefined, 'fetch failed (UND_ERR_CONNECT_TIMEOUT)');
    const { code, stderr } = await run([], { read: async () => Promise.reject(unreachable) });
    expect(code).toBe(2);
    expect(stderr).toBe('hairpin-proxy doctor: could not check: the apiserver https://127.0.0.1:6443 did not answer (read ConfigMap kube-system/coredns: Unavailable: fetch failed (UND_ERR_CONNECT_TIMEOUT))\n');
  });

  it('exit 2 when the apiserver does not answer by the deadline, whatever the read does', async () => {
    const started = Date.now();
    const { code, stderr } = await run([], { read: () => new Promise<DoctorSnapshot>(() => undefined), deadlineMs: 200 });
    expect(code).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(stderr).toMatch(/could not check: the apiserver https:\/\/127\.0\.0\.1:6443 did not answer within 0\.2 s/);
  });

  it('refuses a bad flag before reading anything', async () => {
    const read = async () => CLEAN;
    await expect(run(['--output', 'yaml'], { read })).rejects.toThrow(UsageError);
    await expect(run(['--coredns-mode', 'nope'], { read })).rejects.toThrow(ConfigError);
  });

  it('the CLI exits 2 for a bad flag', async () => {
    let stderr = '';
    const io: CommandIO = { stdout: () => undefined, stderr: (t) => void (stderr += t), stdin: async () => '' };
    expect(await main(['doctor', '--no-such-flag'], io)).toBe(2);
    expect(stderr).toMatch(/no-such-flag/);
  });
});
