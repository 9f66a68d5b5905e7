import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

/** Everything the controller is told at start-up, validated once and frozen. */
export interface Config {
  readonly kubeconfig: string | undefined;
  readonly ingressClasses: readonly string[];
  /** `--target`: several upstreams, each serving some classes or Gateways; empty: one upstream, as before. */
  readonly targets: readonly TargetSpec[];
  /** Handle only objects annotated hairpin-proxy.io/enabled: "true". */
  readonly optIn: boolean;
  /** Rewrite hosts even where the upstream's load balancer reports ipMode Proxy (KEP-1860). */
  readonly rewriteWhenIpModeProxy: boolean;
  /** With --target: how often Gateway API CRDs not served yet are looked for again. */
  readonly gatewayApiRecheckMs: number;
  /** Without --target, the one upstream: the ingress controller Service, and the PROXY version it expects. */
  readonly ingressController: { readonly namespace: string; readonly name: string };
  readonly proxyProtocol: 'v1' | 'v2';
  /** The ports the hairpin HAProxy serves for every upstream. */
  readonly haproxyPorts: readonly number[];
  readonly targetService: string;
  readonly targetNamespace: string;
  readonly clusterDomain: string;
  readonly corednsNamespace: string;
  readonly corednsConfigMap: string;
  readonly corednsKey: string;
  /** Where the rewrite rules go: the Corefile itself, or the coredns-custom ConfigMap (k3s, AKS); auto decides by the Corefile. */
  readonly corednsMode: 'corefile' | 'custom' | 'auto' | 'external-dns';
  readonly corednsCustomConfigMap: string;
  /** auto: forward the hosts from node-local-dns to CoreDNS where the node-local-dns ConfigMap exists. */
  readonly nodeLocalDns: 'auto' | 'off';
  readonly resyncMs: number;
  /** --write-interval: the least time between two DNS writes; 0 writes every change. */
  readonly writeIntervalMs: number;
  readonly listenAddress: { readonly host: string; readonly port: number } | undefined;
  readonly logLevel: string;
  readonly once: boolean;
  readonly dryRun: boolean;
  readonly haproxy: HaproxyConfig | undefined;
  /** Contend for the Lease hairpin-proxy in targetNamespace before writing (undefined: do not). */
  readonly leaderElection: { readonly leaseDurationMs: number; readonly identity: string } | undefined;
  /** The name of the install's Deployment, ServiceAccount and RBAC objects (src/kube/removal.ts). */
  readonly installName: string;
}

/** What one `--target KEY[,KEY…]=NAMESPACE/SERVICE[:v1|v2]` says. */
export interface TargetSpec {
  readonly keys: readonly TargetKey[];
  readonly upstream: { readonly namespace: string; readonly name: string };
  /** `:vN`; undefined: the Service's annotation, else v1. */
  readonly proxyProtocol: 'v1' | 'v2' | undefined;
}

/** An IngressClass or GatewayClass name, or one Gateway (`gateway/NAMESPACE/NAME`). */
export type TargetKey = { readonly kind: 'class'; readonly name: string } | { readonly kind: 'gateway'; readonly namespace: string; readonly name: string };

/** How the controller finds and configures the hairpin HAProxy replicas (undefined: it does not). */
export interface HaproxyConfig {
  readonly clusterIpFallback: boolean;
  /** Fixed Data Plane API URLs; empty means: discover the pods behind the hairpin Service. */
  readonly dataplaneUrls: readonly string[];
  readonly dataplanePort: number;
  readonly dataplaneUsername: string;
  readonly dataplanePassword: string;
  /** Where the password lives when dataplanePassword is empty: a Secret in the target namespace. */
  readonly dataplaneSecret: string;
}

export class ConfigError extends Error {
  readonly kind = 'Invalid';
  constructor(readonly flag: string, message: string) {
    super(`--${flag}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** list: repeatable, and comma-separated everywhere; entries: repeatable, `;`-separated in the environment. */
type Kind = 'string' | 'list' | 'entries' | 'boolean';
interface Flag {
  readonly name: string;
  readonly kind: Kind;
  readonly default: string;
  readonly help: string;
}

/** The single source of flags, their environment variables and their documentation. */
export const FLAGS: readonly Flag[] = [
  { name: 'kubeconfig', kind: 'string', default: '', help: 'kubeconfig file; in-cluster config or ~/.kube/config when empty' },
  { name: 'ingress-class', kind: 'list', default: '', help: 'serve only Ingresses of this class (repeatable; default class honoured); all when unset' },
  { name: 'target', kind: 'entries', default: '', help: 'KEY[,KEY…]=NAMESPACE/SERVICE[:v1|v2]: hosts of these IngressClasses, GatewayClasses or Gateways (gateway/NS/NAME) go to that upstream with that PROXY version (repeatable)' },
  { name: 'opt-in', kind: 'boolean', default: 'false', help: 'handle only Ingresses and routes annotated hairpin-proxy.io/enabled: "true" ("false" always opts out)' },
  { name: 'rewrite-when-ipmode-proxy', kind: 'boolean', default: 'false', help: 'rewrite hosts even when the upstream load balancer reports ipMode Proxy (in-cluster traffic then already passes the load balancer)' },
  { name: 'gateway-api-recheck', kind: 'string', default: '1m', help: 'with --target, how often Gateway API CRDs that are not installed yet are looked for again (no restart needed)' },
  { name: 'target-service', kind: 'string', default: 'hairpin-proxy-haproxy', help: 'Service of the hairpin HAProxy that hosts resolve to' },
  { name: 'target-namespace', kind: 'string', default: 'hairpin-proxy', help: 'namespace of that Service' },
  { name: 'cluster-domain', kind: 'string', default: 'cluster.local', help: 'cluster DNS domain' },
  { name: 'coredns-namespace', kind: 'string', default: 'kube-system', help: 'namespace of the CoreDNS ConfigMap' },
  { name: 'coredns-configmap', kind: 'string', default: 'coredns', help: 'name of the CoreDNS ConfigMap' },
  { name: 'coredns-key', kind: 'string', default: 'Corefile', help: 'key of the Corefile in that ConfigMap' },
  { name: 'coredns-mode', kind: 'string', default: 'auto', help: 'corefile (edit the Corefile), custom (the coredns-custom ConfigMap of k3s and AKS), auto (custom where the Corefile imports *.override files, else corefile) or external-dns (a DNSEndpoint per host, for managed clusters that forbid CoreDNS edits; never chosen by auto)' },
  { name: 'coredns-custom-configmap', kind: 'string', default: 'coredns-custom', help: 'name of the ConfigMap whose *.override keys the Corefile imports (custom mode)' },
  { name: 'node-local-dns', kind: 'string', default: 'auto', help: 'auto: where the node-local-dns ConfigMap exists, add a server block that sends the hosts to the cluster DNS (else node-local-dns sends them upstream, past the rewrite); off' },
  { name: 'write-interval', kind: 'string', default: '1s', help: 'least time between two writes of the DNS configuration: the first change after a quiet spell is written at once, the changes within the next interval are combined into one write (0s: no pacing; at most 1m)' },
  { name: 'resync', kind: 'string', default: '5m', help: 'period of the full resync that repairs drift (e.g. 30s, 5m, 1h)' },
  { name: 'listen-address', kind: 'string', default: ':8080', help: 'address of /healthz, /readyz and /metrics; "off" disables' },
  { name: 'log-level', kind: 'string', default: 'info', help: 'trace, debug, info, warn, error or fatal' },
  { name: 'once', kind: 'boolean', default: 'false', help: 'run one full sync and exit; the exit code says whether it succeeded' },
  { name: 'dry-run', kind: 'boolean', default: 'false', help: 'log the changes a sync would make and write nothing' },
  { name: 'install-name', kind: 'string', default: 'hairpin-proxy', help: 'name of the Deployment (in the target namespace), ServiceAccount and RBAC objects of this install: when that Deployment is deleted, the controller removes everything it wrote to DNS first' },
  { name: 'leader-elect', kind: 'boolean', default: 'true', help: 'write only while holding the Lease hairpin-proxy in the target namespace, so replicas can stand by' },
  { name: 'leader-election-lease', kind: 'string', default: '15s', help: 'how long the lease lasts unrenewed: the longest a standby waits after a leader dies' },
  { name: 'manage-haproxy', kind: 'boolean', default: 'true', help: 'keep the hairpin HAProxy replicas configured through their Data Plane API' },
  { name: 'ingress-controller', kind: 'string', default: 'ingress-nginx/ingress-nginx-controller', help: 'NAMESPACE/NAME of the ingress controller Service HAProxy forwards to' },
  { name: 'haproxy-ports', kind: 'list', default: '80,443', help: 'ports HAProxy listens on, each forwarded to the ingress Service port of the same number' },
  { name: 'proxy-protocol', kind: 'string', default: 'v1', help: "PROXY protocol version sent to the ingress controller, v1 or v2 (its Service's annotation hairpin-proxy.io/proxy-protocol wins)" },
  { name: 'clusterip-fallback', kind: 'boolean', default: 'false', help: "with no ready ingress endpoint, send traffic to the Service's ClusterIP" },
  { name: 'dataplane-url', kind: 'list', default: '', help: 'Data Plane API URLs (e.g. http://10.0.0.5:5555/v3); empty: discover the pods behind the hairpin Service' },
  { name: 'dataplane-port', kind: 'string', default: '5555', help: "Data Plane API port of discovered pods, when their Service has no port named 'dataplane'" },
  { name: 'dataplane-username', kind: 'string', default: 'admin', help: 'Data Plane API user' },
  { name: 'dataplane-password', kind: 'string', default: '', help: 'Data Plane API password (prefer the environment variable); empty: the one in --dataplane-secret' },
  { name: 'dataplane-secret', kind: 'string', default: 'hairpin-proxy-dataplane', help: "Secret in the target namespace whose key 'password' the HAProxy pods' Data Plane API reads; created with a random password where missing" },
];

export function envName(flag: string): string {
  return `HAIRPIN_${flag.toUpperCase().replaceAll('-', '_')}`;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
function dnsSubdomain(flag: string, value: string, what: string): string {
  if (!DNS_SUBDOMAIN.test(value)) throw new ConfigError(flag, `${JSON.stringify(value)} is not ${what}`);
  return value;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Config {
  const raw = readFlags(argv, env);
  const text = (name: string): string => String(raw.get(name) ?? '');
  const matching = (name: string, pattern: RegExp, what: string): string => {
    const value = text(name);
    if (!pattern.test(value)) throw new ConfigError(name, `${JSON.stringify(value)} is not ${what}`);
    return value;
  };
  const ingressClasses = (raw.get('ingress-class') as string[]).filter((c) => c !== '');
  for (const cls of ingressClasses) {
    if (!DNS_SUBDOMAIN.test(cls)) throw new ConfigError('ingress-class', `${JSON.stringify(cls)} is not a valid IngressClass name`);
  }
  const [namespace = '', name = '', ...extra] = text('ingress-controller').split('/');
  if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(name) || extra.length > 0) {
    throw new ConfigError('ingress-controller', `${JSON.stringify(text('ingress-controller'))} is not NAMESPACE/NAME of a Service`);
  }
  const proxyProtocol = text('proxy-protocol');
  if (proxyProtocol !== 'v1' && proxyProtocol !== 'v2') throw new ConfigError('proxy-protocol', `${JSON.stringify(proxyProtocol)} is not v1 or v2`);
  const haproxyPorts = [...new Set((raw.get('haproxy-ports') as string[]).filter((p) => p !== '').map((p) => parsePort('haproxy-ports', p)))];
  if (haproxyPorts.length === 0) throw new ConfigError('haproxy-ports', 'needs at least one port');
  const targets = parseTargets((raw.get('target') as string[]).filter((t) => t !== ''));
  if (targets.length > 0 && haproxyPorts.length > MAX_TARGET_PORTS) throw new ConfigError('haproxy-ports', `with --target, at most ${MAX_TARGET_PORTS} ports (each upstream has a block of ${MAX_TARGET_PORTS})`);
  const logLevel = text('log-level');
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('log-level', `${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  return Object.freeze({
    kubeconfig: text('kubeconfig') || undefined,
    ingressClasses: Object.freeze([...new Set(ingressClasses)]),
    targets,
    optIn: raw.get('opt-in') === true,
    rewriteWhenIpModeProxy: raw.get('rewrite-when-ipmode-proxy') === true,
    gatewayApiRecheckMs: parseDuration('gateway-api-recheck', text('gateway-api-recheck')),
    ingressController: Object.freeze({ namespace, name }),
    proxyProtocol,
    haproxyPorts: Object.freeze(haproxyPorts),
    targetService: matching('target-service', DNS_LABEL, 'a DNS label (a Service name)'),
    targetNamespace: matching('target-namespace', DNS_LABEL, 'a namespace name'),
    clusterDomain: matching('cluster-domain', DNS_SUBDOMAIN, 'a DNS domain'),
    corednsNamespace: matching('coredns-namespace', DNS_LABEL, 'a namespace name'),
    corednsConfigMap: matching('coredns-configmap', DNS_SUBDOMAIN, 'a ConfigMap name'),
    corednsKey: matching('coredns-key', CONFIGMAP_KEY, 'a ConfigMap key'),
    corednsMode: oneOf('coredns-mode', text('coredns-mode'), ['corefile', 'custom', 'auto', 'external-dns'] as const),
    corednsCustomConfigMap: matching('coredns-custom-configmap', DNS_SUBDOMAIN, 'a ConfigMap name'),
    nodeLocalDns: oneOf('node-local-dns', text('node-local-dns'), ['auto', 'off'] as const),
    resyncMs: parseDuration('resync', text('resync')),
    writeIntervalMs: parseWriteInterval(text('write-interval')),
    listenAddress: parseListenAddress(text('listen-address')),
    logLevel,
    once: raw.get('once') === true,
    dryRun: raw.get('dry-run') === true,
    haproxy: raw.get('manage-haproxy') === true ? Object.freeze(loadHaproxyConfig(raw)) : undefined,
    leaderElection:
      raw.get('leader-elect') === true
        ? Object.freeze({ leaseDurationMs: parseLease(text('leader-election-lease')), identity: identityOf(env) })
        : undefined,
    installName: matching('install-name', DNS_LABEL, 'a Deployment name'),
  });
}

function loadHaproxyConfig(raw: Map<string, string | boolean | string[]>): HaproxyConfig {
  const text = (name: string): string => String(raw.get(name) ?? '');
  const dataplaneUrls = (raw.get('dataplane-url') as string[]).filter((u) => u !== '');
  for (const url of dataplaneUrls) {
    if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url)) throw new ConfigError('dataplane-url', `${JSON.stringify(url)} is not an http(s) URL`);
  }
  return {
    clusterIpFallback: raw.get('clusterip-fallback') === true,
    dataplaneUrls: Object.freeze(dataplaneUrls),
    dataplanePort: parsePort('dataplane-port', text('dataplane-port')),
    dataplaneUsername: text('dataplane-username'),
    dataplanePassword: text('dataplane-password'),
    dataplaneSecret: dnsSubdomain('dataplane-secret', text('dataplane-secret'), 'a valid Secret name'),
  };
}

/** Each upstream has a block of this many frontend ports (see plan/upstreams.ts). */
const MAX_TARGET_PORTS = 10;

/** Each key and each upstream once: a class sent to two upstreams would have no answer. */
function parseTargets(values: readonly string[]): readonly TargetSpec[] {
  const targets = values.map(parseTarget);
  const seenKeys = new Map<string, string>();
  const seenUpstreams = new Set<string>();
  for (const target of targets) {
    const upstream = `${target.upstream.namespace}/${target.upstream.name}`;
    if (seenUpstreams.has(upstream)) throw new ConfigError('target', `${upstream} is named by two entries; list all of its keys in one`);
    seenUpstreams.add(upstream);
    for (const key of target.keys) {
      const text = key.kind === 'class' ? key.name : `gateway/${key.namespace}/${key.name}`;
      const other = seenKeys.get(text);
      if (other !== undefined) throw new ConfigError('target', `${text} is mapped to both ${other} and ${upstream}`);
      seenKeys.set(text, upstream);
    }
  }
  return Object.freeze(targets);
}

const TARGET = /^([^=\s]+)=([^/\s]+)\/([^:\s]+)(?::(v1|v2))?$/;

function parseTarget(value: string): TargetSpec {
  const match = TARGET.exec(value);
  const usage = 'is not KEY[,KEY…]=NAMESPACE/SERVICE[:v1|v2] (KEY: a class name or gateway/NAMESPACE/NAME)';
  if (!match) throw new ConfigError('target', `${JSON.stringify(value)} ${usage}`);
  const [, keys = '', namespace = '', name = '', version] = match;
  if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(name)) throw new ConfigError('target', `${JSON.stringify(value)}: ${namespace}/${name} is not NAMESPACE/NAME of a Service`);
  return Object.freeze({
    keys: Object.freeze(keys.split(',').map((key) => parseTargetKey(value, key))),
    upstream: Object.freeze({ namespace, name }),
    proxyProtocol: version as 'v1' | 'v2' | undefined,
  });
}

function parseTargetKey(value: string, key: string): TargetKey {
  const parts = key.split('/');
  if (parts.length === 1 && DNS_SUBDOMAIN.test(key)) return { kind: 'class', name: key };
  const [prefix, namespace = '', name = ''] = parts;
  if (parts.length === 3 && prefix === 'gateway' && DNS_LABEL.test(namespace) && DNS_SUBDOMAIN.test(name)) return { kind: 'gateway', namespace, name };
  throw new ConfigError('target', `${JSON.stringify(value)}: ${JSON.stringify(key)} is neither a class name nor gateway/NAMESPACE/NAME`);
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(flag, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return value as T;
}

function parsePort(flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port < 1 || port > 65535) throw new ConfigError(flag, `${JSON.stringify(value)} is not a port number`);
  return port;
}

function parseLease(value: string): number {
  const ms = parseDuration('leader-election-lease', value);
  // Renewals come every lease/7.5 and must fit several times into the 2/3 renew deadline.
  if (ms < 3000) throw new ConfigError('leader-election-lease', `${value} is shorter than 3s`);
  return ms;
}

/** The pod's name (downward API), else host and pid: unique among the candidates. */
function identityOf(env: Readonly<Record<string, string | undefined>>): string {
  return env.POD_NAME || `${hostname()}_${process.pid}`;
}

/** The config as it may be logged: no secrets. */
export function loggableConfig(config: Config): unknown {
  if (!config.haproxy) return config;
  return { ...config, haproxy: { ...config.haproxy, dataplanePassword: config.haproxy.dataplanePassword ? '<redacted>' : '' } };
}

/** Flags win over environment variables, which win over defaults. */
function readFlags(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Map<string, string | boolean | string[]> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      // --no-manage-haproxy and the like: booleans that default to true need a way off.
      allowNegative: true,
      options: Object.fromEntries(FLAGS.map((f) => [f.name, { type: f.kind === 'boolean' ? 'boolean' : 'string', multiple: f.kind === 'list' || f.kind === 'entries' }])),
    }).values;
  } catch (error) {
    const flag = /'(--?[\w-]+)/.exec(String(error))?.[1]?.replace(/^-+/, '') ?? 'arguments';
    throw new ConfigError(flag, error instanceof Error ? error.message : String(error));
  }
  const values = new Map<string, string | boolean | string[]>();
  for (const flag of FLAGS) {
    const given = parsed[flag.name] as string | boolean | string[] | undefined;
    const fromEnv = env[envName(flag.name)];
    const chosen = given !== undefined ? given : fromEnv !== undefined ? fromEnv : flag.default;
    values.set(flag.name, coerce(flag, chosen));
  }
  return values;
}

function coerce(flag: Flag, value: string | boolean | string[]): string | boolean | string[] {
  switch (flag.kind) {
    case 'list':
      // Repeated flags and comma-separated values both work, from the command line and the environment.
      return (Array.isArray(value) ? value : [String(value)]).flatMap((v) => v.split(',')).map((v) => v.trim());
    case 'entries':
      // An entry has commas of its own: repeated flags, or `;` between entries in the environment.
      return Array.isArray(value) ? value.map((v) => v.trim()) : String(value).split(';').map((v) => v.trim());
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (!['true', 'false', '1', '0', ''].includes(value as string)) throw new ConfigError(flag.name, `${JSON.stringify(value)} is not true or false`);
      return value === 'true' || value === '1';
    case 'string':
      return Array.isArray(value) ? (value.at(-1) ?? '') : String(value);
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(flag: string, value: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(value);
  const unit = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
  if (!match || unit === undefined) throw new ConfigError(flag, `${JSON.stringify(value)} is not a duration like 30s, 5m or 1h`);
  const ms = Number(match[1]) * unit;
  if (ms < 1000) throw new ConfigError(flag, `${value} is shorter than 1s`);
  return ms;
}

function parseWriteInterval(value: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(value);
  const unit = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
  if (!match || unit === undefined) throw new ConfigError('write-interval', `${JSON.stringify(value)} is not a duration like 500ms, 1s or 0s`);
  const ms = Number(match[1]) * unit;
  if (ms > 60_000) throw new ConfigError('write-interval', `${value} is longer than 1m: DNS would lag changes by that much`);
  return ms;
}

function parseListenAddress(value: string): Config['listenAddress'] {
  if (value === 'off') return undefined;
  const match = /^(.*):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new ConfigError('listen-address', `${JSON.stringify(value)} is not host:port, :port or off`);
  return { host: match[1] || '0.0.0.0', port };
}
