/**
 * The real external-dns chain: DNSEndpoint objects (externaldns.k8s.io/v1alpha1) in the harness's
 * apiserver → external-dns (its `crd` source, its `coredns` provider, the TXT registry) → a
 * dedicated etcd (SkyDNS records under /skydns/) → a CoreDNS whose `etcd` plugin serves one zone
 * from there, asked with dig.
 *
 * Binaries and CRD from hack/tools: `external-dns` (EXTERNAL_DNS_VERSION, built from
 * sigs.k8s.io/external-dns), `external-dns-crd` (that module's
 * config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml), `etcd`, `coredns`, `dig`.
 *
 * What external-dns writes (see e2e/local/external-dns-chain.int.test.ts): one key per target,
 * /skydns/<zone labels reversed>/<name labels reversed>/<random 8-hex label>, whose value is
 * {"host":"<target>","ttl":<recordTTL>,"targetstrip":1}; CoreDNS's etcd plugin strips that random
 * label and answers A or AAAA by the host's form. The TXT registry adds its ownership records the
 * same way, as `text` entries of the name's `a-`/`aaaa-` twin (`"heritage=external-dns,…"`).
 */
import { constants, mkdirSync, writeFileSync } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ControlPlane } from './controlplane.js';
import { addressesIn, digAt, type DnsAnswer } from './coredns.js';
import { installCrds, type Crd } from './gateway-api.js';
import { freePort } from './ports.js';
import { startProcess, waitFor, type ManagedProcess } from './processes.js';
import { toolPath, type ToolName } from './tools.js';

export const DNS_ENDPOINT_API_VERSION = 'externaldns.k8s.io/v1alpha1';
export const DNS_ENDPOINT_CRD = 'dnsendpoints.externaldns.k8s.io';
/** Where external-dns's CoreDNS provider writes (its --coredns-prefix default) and CoreDNS reads. */
export const SKYDNS_PREFIX = '/skydns/';

/**
 * Whether the chain's tools are obtainable here, for a suite's skip: external-dns and its CRD are
 * optional in `hack/tools install` (exit 3 from `hack/tools path` when the registry refused them).
 */
export async function externalDnsTools(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const names: ToolName[] = ['external-dns', 'external-dns-crd', 'etcd', 'coredns', 'dig'];
  // toolPath() takes an override (HAIRPIN_TOOL_EXTERNAL_DNS=…) as given: a path to nothing must
  // read as "not available here", not as a process that fails to start later.
  const found = await Promise.allSettled(
    names.map(async (name) => {
      const path = await toolPath(name);
      const file = await stat(path).catch(() => undefined);
      const mode = name === 'external-dns-crd' ? constants.R_OK : constants.X_OK;
      if (file?.isFile() !== true || !(await access(path, mode).then(() => true, () => false))) {
        throw new Error(`${name}: ${path} is not ${name === 'external-dns-crd' ? 'a readable' : 'an executable'} file`);
      }
    }),
  );
  const reasons = found.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
  // Only "not obtainable here" (hack/tools exit 3) or a missing override skips; a failed build fails.
  const failed = reasons.filter((reason) => reason.startsWith('hack/tools path') && !reason.includes('not obtainable on this machine'));
  if (failed.length > 0) throw new Error(failed.join('; '));
  return reasons.length === 0 ? { ok: true } : { ok: false, reason: reasons.join('; ') };
}

/** Applies the DNSEndpoint CRD of EXTERNAL_DNS_VERSION and waits (bounded) until v1alpha1 is served. */
export async function installDnsEndpointCrd(plane: ControlPlane): Promise<void> {
  const crd = parse(await readFile(await toolPath('external-dns-crd'), 'utf8')) as Crd;
  if (crd.kind !== 'CustomResourceDefinition' || crd.metadata.name !== DNS_ENDPOINT_CRD) {
    throw new Error(`hack/tools path external-dns-crd is not the ${DNS_ENDPOINT_CRD} CRD`);
  }
  await installCrds(plane, [crd]);
}

export interface DnsEndpointRecord {
  readonly dnsName: string;
  readonly recordType: string;
  readonly targets: readonly string[];
  readonly recordTTL?: number;
}

/**
 * What external-dns with the crd source needs (as its Helm chart grants): read DNSEndpoints, and
 * write their status (it records status.observedGeneration; a refusal is only a warning).
 */
export function externalDnsRbac(subject: { readonly kind: 'User' | 'ServiceAccount'; readonly name: string; readonly namespace?: string }): object[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'external-dns' },
      rules: [
        { apiGroups: ['externaldns.k8s.io'], resources: ['dnsendpoints'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['externaldns.k8s.io'], resources: ['dnsendpoints/status'], verbs: ['update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'external-dns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'external-dns' },
      subjects: [subject.kind === 'User' ? { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: subject.name } : { kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }],
    },
  ];
}

/** A DNSEndpoint object, as a controller (or a test) writes it. */
export function dnsEndpoint(spec: { readonly namespace: string; readonly name: string; readonly endpoints: readonly DnsEndpointRecord[] }): object {
  return {
    apiVersion: DNS_ENDPOINT_API_VERSION,
    kind: 'DNSEndpoint',
    metadata: { name: spec.name, namespace: spec.namespace },
    spec: { endpoints: spec.endpoints.map((e) => ({ ...e, targets: [...e.targets] })) },
  };
}

export interface ExternalDnsChainOptions {
  readonly controlPlane: ControlPlane;
  readonly tmpDir: string;
  /** The zone CoreDNS serves and external-dns's --domain-filter, e.g. `example.test`. */
  readonly zone: string;
  /**
   * The identity external-dns runs as (default: the admin's kubeconfig). externalDnsRbac() gives
   * what it needs: get, list and watch on dnsendpoints, update on dnsendpoints/status.
   */
  readonly kubeconfigPath?: string;
  /** The TXT registry's --txt-owner-id (default `hairpin-e2e`). */
  readonly ownerId?: string;
  /** external-dns --interval (default 1s): how often it lists DNSEndpoints and syncs etcd. */
  readonly interval?: string;
  /** external-dns --log-level (default info: one line per key written or deleted). */
  readonly logLevel?: 'debug' | 'info' | 'warning';
  readonly startTimeoutMs?: number;
}

export interface SkydnsRecord {
  readonly key: string;
  /** The JSON value, parsed (a SkyDNS service: host, ttl, text, targetstrip, …). */
  readonly value: Record<string, unknown>;
}

export interface ExternalDnsChain {
  readonly zone: string;
  readonly ownerId: string;
  /** The chain's own etcd (not the apiserver's): http://127.0.0.1:<port>. */
  readonly etcdUrl: string;
  /** CoreDNS's UDP/TCP port on 127.0.0.1. */
  readonly dnsPort: number;
  /** external-dns's /healthz and /metrics: http://127.0.0.1:<port>. */
  readonly metricsUrl: string;
  /** The exact flags external-dns runs with (its env adds ETCD_URLS). */
  readonly externalDnsArgs: readonly string[];
  readonly processes: { readonly etcd: ManagedProcess; readonly coredns: ManagedProcess; readonly externalDns: ManagedProcess };
  /** Asks the chain's CoreDNS with dig (status, echoed question, answers with owner names). */
  resolve(name: string, type?: string): Promise<DnsAnswer>;
  /** The A (or AAAA, …) data whose owner is exactly the asked name. */
  addressesOf(name: string, type?: string): Promise<string[]>;
  /** Every key under /skydns/ in the chain's etcd, sorted, with its JSON value. */
  skydnsRecords(): Promise<SkydnsRecord[]>;
  /** Waits (bounded) for a sync that started after this call: what it wrote is in etcd then. */
  waitForSync(timeoutMs?: number): Promise<void>;
  /** Stops external-dns, CoreDNS and etcd (cleanupAll() does too). */
  stop(): Promise<void>;
}

/** etcd's JSON gateway (/v3/kv/range) takes and returns keys and values in base64. */
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');
/** The end of a prefix range: the prefix with its last byte plus one. */
const prefixEnd = (prefix: string) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

async function etcdRange(etcdUrl: string, prefix: string): Promise<SkydnsRecord[]> {
  const response = await fetch(`${etcdUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(prefix), range_end: b64(prefixEnd(prefix)) }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`etcd range ${prefix}: HTTP ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { kvs?: Array<{ key: string; value: string }> };
  return (body.kvs ?? [])
    .map((kv) => ({ key: unb64(kv.key), value: JSON.parse(unb64(kv.value)) as Record<string, unknown> }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Starts etcd, then CoreDNS serving `zone` from it (nothing else: other names are REFUSED), then
 * external-dns as the admin of the control plane. Resolves once etcd is healthy, CoreDNS answers
 * the zone's SOA and external-dns serves /healthz and has finished a first sync.
 */
export async function startExternalDnsChain(options: ExternalDnsChainOptions): Promise<ExternalDnsChain> {
  const { controlPlane, tmpDir } = options;
  const zone = options.zone.replace(/\.$/, '').toLowerCase();
  const ownerId = options.ownerId ?? 'hairpin-e2e';
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const [etcdBin, corednsBin, externalDnsBin, digBin] = await Promise.all([toolPath('etcd'), toolPath('coredns'), toolPath('external-dns'), toolPath('dig')]);
  const [etcdPort, etcdPeerPort, dnsPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = join(tmpDir, 'external-dns-chain');
  mkdirSync(dir, { recursive: true });

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = startProcess({
    name: 'external-dns-etcd',
    command: etcdBin,
    logDir: tmpDir,
    args: [
      '--name=dns',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=dns=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  });
  await waitFor(async () => (await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) })).ok, {
    timeoutMs: startTimeoutMs,
    intervalMs: 100,
    what: `the external-dns chain's etcd on ${etcdUrl} to be healthy`,
  });

  // The zone only, from etcd; no fallthrough and no forward: every other name is REFUSED.
  const corefilePath = join(dir, 'Corefile');
  writeFileSync(
    corefilePath,
    [
      `${zone}:${dnsPort} {`,
      '    bind 127.0.0.1',
      '    errors',
      `    etcd ${zone} {`,
      `        path ${SKYDNS_PREFIX.replace(/\/$/, '')}`,
      `        endpoint ${etcdUrl}`,
      '    }',
      '}',
      '',
    ].join('\n'),
  );
  const coredns = startProcess({
    name: 'external-dns-coredns',
    command: corednsBin,
    args: ['-conf', corefilePath, '-dns.port', String(dnsPort)],
    logDir: tmpDir,
  });
  const resolve = (name: string, type = 'A') => digAt(digBin, dnsPort, name, type);
  await waitFor(async () => (await resolve(zone, 'SOA')).status === 'NOERROR', {
    timeoutMs: startTimeoutMs,
    intervalMs: 200,
    what: `the external-dns chain's CoreDNS on 127.0.0.1:${dnsPort} to answer ${zone} SOA`,
  });

  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const externalDnsArgs = [
    '--source=crd',
    `--crd-source-apiversion=${DNS_ENDPOINT_API_VERSION}`,
    '--crd-source-kind=DNSEndpoint',
    '--provider=coredns',
    `--domain-filter=${zone}`,
    '--registry=txt',
    `--txt-owner-id=${ownerId}`,
    '--policy=sync',
    `--interval=${options.interval ?? '1s'}`,
    `--kubeconfig=${options.kubeconfigPath ?? controlPlane.adminKubeconfigPath}`,
    `--metrics-address=127.0.0.1:${metricsPort}`,
    `--log-level=${options.logLevel ?? 'info'}`,
  ];
  const externalDns = startProcess({
    name: 'external-dns',
    command: externalDnsBin,
    args: externalDnsArgs,
    logDir: tmpDir,
    env: { ETCD_URLS: etcdUrl },
  });
  await waitFor(async () => (await fetch(`${metricsUrl}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok, {
    timeoutMs: startTimeoutMs,
    intervalMs: 200,
    what: `external-dns to serve ${metricsUrl}/healthz`,
  });
  // The controller sets this gauge (seconds, with a fraction) after each successful sync.
  const lastSync = async (): Promise<number> => {
    const metrics = await (await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    return Number(/^external_dns_controller_last_sync_timestamp_seconds (\S+)$/m.exec(metrics)?.[1] ?? 0);
  };
  const waitForSync = async (timeoutMs = 30_000) => {
    // A sync that finished after now may have listed the objects before: wait for the next one too.
    const since = Date.now() / 1000;
    const first = await waitFor(async () => ((await lastSync()) > since ? lastSync() : 0), {
      timeoutMs,
      intervalMs: 100,
      what: 'external-dns to finish a sync (external_dns_controller_last_sync_timestamp_seconds)',
    });
    await waitFor(async () => (await lastSync()) > first, { timeoutMs, intervalMs: 100, what: 'external-dns to finish the sync after that' });
  };
  await waitFor(async () => (await lastSync()) > 0, {
    timeoutMs: startTimeoutMs,
    intervalMs: 200,
    what: 'external-dns to finish its first sync (external_dns_controller_last_sync_timestamp_seconds)',
  });

  return {
    zone,
    ownerId,
    etcdUrl,
    dnsPort,
    metricsUrl,
    externalDnsArgs,
    processes: { etcd, coredns, externalDns },
    resolve,
    addressesOf: async (name, type = 'A') => addressesIn(await resolve(name, type), name, type),
    skydnsRecords: () => etcdRange(etcdUrl, SKYDNS_PREFIX),
    waitForSync,
    async stop() {
      await externalDns.stop();
      await coredns.stop();
      await etcd.stop();
    },
  };
}
