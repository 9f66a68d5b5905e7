import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { renderCorefile } from '../coredns/corefile.js';
import { checkHost } from '../sources/hostname.js';
import { UsageError, type CommandIO } from './io.js';

export const RENDER_USAGE = `hairpin-proxy render-corefile --corefile FILE --hosts FILE --target FQDN [--cluster-domain cluster.local]
  Prints the Corefile with hairpin-proxy's rules for the hosts (one per line; empty file removes them).
  Invalid hosts are reported on stderr and left out. A malformed Corefile exits non-zero, printing nothing.`;

export async function renderCorefileCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { corefile: { type: 'string' }, hosts: { type: 'string' }, target: { type: 'string' }, 'cluster-domain': { type: 'string', default: 'cluster.local' } },
  });
  const { corefile: corefilePath, hosts: hostsPath, target } = values;
  if (!corefilePath || !hostsPath || !target) throw new UsageError(`--corefile, --hosts and --target are required\n${RENDER_USAGE}`);
  const targetCheck = checkHost(target, '');
  if (!targetCheck.ok || targetCheck.host.includes('*')) throw new UsageError(`--target ${JSON.stringify(target)} is not a DNS name`);
  const [corefile, hostList] = await Promise.all([readFile(corefilePath, 'utf8'), readFile(hostsPath, 'utf8')]);
  const routes = [];
  for (const raw of hostList.split(/\r?\n/).filter((line) => line.trim() !== '')) {
    const checked = checkHost(raw, values['cluster-domain']);
    if (checked.ok) routes.push({ host: checked.host, target: targetCheck.host });
    else io.stderr(`invalid host ${JSON.stringify(raw)}: ${checked.reason}\n`);
  }
  io.stdout(renderCorefile(corefile, routes));
  return 0;
}
