import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { planRoutes, type RoutePlan } from '../plan/routes.js';
import type { IngressClassLike, IngressLike } from '../model/objects.js';
import { UsageError, type CommandIO } from './io.js';

export const PLAN_USAGE = `hairpin-proxy plan -f FILE|- [--ingress-class NAME]... [--output json|table]
    [--target-service NAME] [--target-namespace NS] [--cluster-domain DOMAIN]
  Reads \`kubectl get ingress,ingressclass -A -o yaml\` output and prints the routes hairpin-proxy would make.`;

export async function planCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      file: { type: 'string', short: 'f' },
      'ingress-class': { type: 'string', multiple: true, default: [] },
      output: { type: 'string', short: 'o', default: 'json' },
      'target-service': { type: 'string', default: 'hairpin-proxy-haproxy' },
      'target-namespace': { type: 'string', default: 'hairpin-proxy' },
      'cluster-domain': { type: 'string', default: 'cluster.local' },
    },
  });
  if (!values.file) throw new UsageError(`-f is required\n${PLAN_USAGE}`);
  if (values.output !== 'json' && values.output !== 'table') throw new UsageError(`--output must be json or table, not ${JSON.stringify(values.output)}`);
  const text = values.file === '-' ? await io.stdin() : await readFile(values.file, 'utf8');
  const objects = kubernetesObjects(text);
  const plan = planRoutes(
    {
      ingresses: objects.filter((o): o is IngressLike => o.kind === 'Ingress'),
      ingressClasses: objects.filter((o): o is IngressClassLike => o.kind === 'IngressClass'),
    },
    {
      ingressClasses: values['ingress-class'],
      target: `${values['target-service']}.${values['target-namespace']}.svc.${values['cluster-domain']}`,
      clusterDomain: values['cluster-domain'],
    },
  );
  io.stdout(values.output === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : table(plan));
  return 0;
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

function table(plan: RoutePlan): string {
  const rows = [
    ['HOST', 'TARGET', 'SOURCES'],
    ...plan.routes.map((route) => [route.host, route.target, route.sources.join(',')]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
  const skipped = plan.skipped.map((s) => `skipped ${JSON.stringify(s.host)} from ${s.source}: ${s.reason}`);
  return `${[...lines, ...(skipped.length ? ['', ...skipped] : [])].join('\n')}\n`;
}
