import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type Config } from '../config.js';
import { roomFor } from '../coredns/fit.js';
import { fitCorefile } from '../reconcile/fitted-dns.js';
import { planRoutes, routePolicyOf, type RoutePlan } from '../plan/routes.js';
import type { GatewayLike, IngressClassLike, IngressLike, RouteLike, ServiceLike } from '../model/objects.js';
import { ROUTE_KINDS } from '../sources/gateway.js';
import { UsageError, type CommandIO } from './io.js';

export const PLAN_USAGE = `hairpin-proxy plan -f FILE|- [--output json|table] [run's flags: --target, --opt-in, --ingress-class, --ingress-controller, --proxy-protocol, …]
  Reads \`kubectl get ingress,ingressclass,gatewayclass,gateway,httproute,grpcroute,tlsroute,service -A -o yaml\`
  output and prints the routes hairpin-proxy would make, and the hosts it would skip, with why.
  Routes that would not fit in the CoreDNS ConfigMap (1 MiB) are listed as dropped; include the
  ConfigMap (kubectl get -n kube-system configmap coredns -o yaml) for an exact answer.`;

/** The flags only plan has; every other one is run's, read and validated by loadConfig. */
const OWN_FLAGS = { file: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o', default: 'json' } } as const;

export async function planCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, tokens } = parseArgs({ args: [...argv], options: OWN_FLAGS, strict: false, tokens: true });
  const own = new Set(tokens.filter((t) => t.kind === 'option' && t.name in OWN_FLAGS).flatMap((t) => (t.kind === 'option' ? [t.index, ...(t.inlineValue === false ? [t.index + 1] : [])] : [])));
  // The environment is not read: an offline plan says what these flags do, whatever the shell holds.
  const config = loadConfig(argv.filter((_, index) => !own.has(index)), {});
  if (typeof values.file !== 'string' || values.file === '') throw new UsageError(`-f is required\n${PLAN_USAGE}`);
  if (values.output !== 'json' && values.output !== 'table') throw new UsageError(`--output must be json or table, not ${JSON.stringify(values.output)}`);
  const text = values.file === '-' ? await io.stdin() : await readFile(values.file, 'utf8');
  const objects = kubernetesObjects(text);
  const ofKind = <T>(...kinds: readonly string[]) => objects.filter((o) => kinds.includes(o.kind ?? '')) as T[];
  const plan = planRoutes(
    {
      ingresses: ofKind<IngressLike>('Ingress'),
      ingressClasses: ofKind<IngressClassLike>('IngressClass'),
      gateways: ofKind<GatewayLike>('Gateway'),
      routes: ofKind<RouteLike>(...ROUTE_KINDS),
      services: ofKind<ServiceLike>('Service'),
    },
    routePolicyOf(config),
  );
  const dropped = droppedRoutes(plan, objects, config);
  io.stdout(values.output === 'json' ? `${JSON.stringify({ ...plan, dropped }, null, 2)}\n` : table(plan, dropped));
  return 0;
}

/** A bare Corefile stands in when the input holds no CoreDNS ConfigMap: our rules are nearly all of it. */
const BARE_COREFILE = '.:53 {\n}\n';

/** The routed hosts that would not fit in the CoreDNS ConfigMap of the input (or an otherwise empty one). */
function droppedRoutes(plan: RoutePlan, objects: ReadonlyArray<{ kind?: string }>, config: Config): string[] {
  const configMap = objects.find((o): o is ConfigMapLike => o.kind === 'ConfigMap' && (o as ConfigMapLike).metadata?.name === config.corednsConfigMap && (o as ConfigMapLike).metadata?.namespace === config.corednsNamespace);
  const data = configMap?.data ?? { [config.corednsKey]: BARE_COREFILE };
  return fitCorefile(data[config.corednsKey] ?? BARE_COREFILE, plan.routes, roomFor(data, config.corednsKey)).dropped.map((route) => route.host);
}

interface ConfigMapLike {
  readonly kind: 'ConfigMap';
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly data?: Readonly<Record<string, string>>;
}

/** Objects from a multi-document YAML stream, with `kind: List` documents flattened. */
export function kubernetesObjects(text: string): Array<{ kind?: string }> {
  const objects: Array<{ kind?: string }> = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new UsageError(`not valid YAML: ${document.errors[0]?.message ?? ''}`);
    const value = document.toJS() as { kind?: string; items?: Array<{ kind?: string }> } | null;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value.items)) objects.push(...value.items);
    else objects.push(value);
  }
  return objects;
}

function table(plan: RoutePlan, dropped: readonly string[]): string {
  const rows = [
    ['HOST', 'UPSTREAM', 'PROXY', 'TARGET', 'SOURCES'],
    ...plan.routes.map((route) => [route.host, route.upstream, route.proxy, route.target, route.sources.join(',')]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
  const skipped = [
    ...plan.skipped.map((s) => `skipped ${JSON.stringify(s.host)} from ${s.source}: ${s.reason}`),
    ...dropped.map((host) => `dropped ${JSON.stringify(host)}: does not fit in the CoreDNS ConfigMap (newest claims go first)`),
  ];
  return `${[...lines, ...(skipped.length ? ['', ...skipped] : [])].join('\n')}\n`;
}
