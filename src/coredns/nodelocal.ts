import { BEGIN_MARKER, CorefileError, END_MARKER, removeHairpinRules } from './corefile.js';
import { tokenize, type Token } from './lexer.js';

/**
 * node-local-dns (node-cache) answers pods on each node and sends only the cluster domain to the
 * cluster DNS; every other name, every ingress host included, goes straight upstream, so
 * CoreDNS's rewrite never sees it. The fix: one server block of ours in node-local-dns's Corefile
 * whose zones are the hairpin hosts, forwarding them to the cluster DNS exactly as its
 * cluster-domain block does (same `bind`, same `forward` target: a literal address or
 * node-cache's `__PILLAR__CLUSTER__DNS__`, which it substitutes at start), so CoreDNS applies the
 * rewrite. The block goes first in the file, between our markers; removing it restores the
 * Corefile byte for byte.
 */
export interface NodeLocalEdit {
  readonly corefile: string;
  /** Hosts whose zone node-local-dns already serves in a block of its own: two blocks for one zone would stop it. */
  readonly skipped: ReadonlyArray<{ readonly host: string; readonly reason: string }>;
}

const PILLAR_DOMAIN = '__PILLAR__DNS__DOMAIN__';

export function renderNodeLocalCorefile(corefile: string, hosts: readonly string[], clusterDomain: string): NodeLocalEdit {
  const base = removeHairpinRules(corefile);
  if (hosts.length === 0) return { corefile: base, skipped: [] };
  const blocks = serverBlocks(base);
  const cluster = blocks.find((block) => block.zones.some((zone) => zone === clusterDomain.toLowerCase() || zone === PILLAR_DOMAIN.toLowerCase()));
  if (!cluster) throw new CorefileError(`node-local-dns has no server block for the cluster domain ${clusterDomain} to copy its forwarding from`);
  const bind = cluster.lines.find((line) => line[0] === 'bind');
  const forward = cluster.lines.find((line) => line[0] === 'forward' && line[1] === '.');
  if (!forward?.[2]) throw new CorefileError(`node-local-dns's ${clusterDomain} block has no 'forward . <cluster DNS>' line`);
  const taken = new Set(blocks.flatMap((block) => block.zones));
  const skipped: Array<{ host: string; reason: string }> = [];
  const zones = new Set<string>();
  for (const host of hosts) {
    const zone = host.replace(/^\*\./, '');
    if (taken.has(zone)) skipped.push({ host, reason: `node-local-dns already has a server block for ${zone}` });
    else zones.add(zone);
  }
  // A zone covers its subdomains: a host under another routed host's zone needs no key of its own.
  const keys = [...zones].filter((zone) => ![...zones].some((other) => zone.endsWith(`.${other}`))).sort();
  if (keys.length === 0) return { corefile: base, skipped };
  const block = [
    BEGIN_MARKER,
    `${keys.map((zone) => `${zone}:53`).join(' ')} {`,
    '    errors',
    '    cache 30',
    ...(bind ? [`    ${bind.join(' ')}`] : []),
    `    forward . ${forward.slice(2).join(' ')} {`,
    '        force_tcp',
    '    }',
    '}',
    END_MARKER,
  ];
  return { corefile: `${block.join('\n')}\n${base}`, skipped };
}

interface ServerBlock {
  /** Zones, lower-cased, without scheme, port or trailing dot. */
  readonly zones: readonly string[];
  /** The block's directive lines at its top level, as tokens. */
  readonly lines: ReadonlyArray<readonly string[]>;
}

function serverBlocks(corefile: string): ServerBlock[] {
  const blocks: ServerBlock[] = [];
  let depth = 0;
  let keys: string[] = [];
  let current: { zones: string[]; lines: Map<number, string[]> } | undefined;
  for (const token of tokenize(corefile) as Token[]) {
    if (token.text === '{') {
      if (depth === 0) current = { zones: keys.map(zoneOf), lines: new Map() };
      depth += 1;
      keys = [];
    } else if (token.text === '}') {
      depth -= 1;
      if (depth === 0 && current) blocks.push({ zones: current.zones, lines: [...current.lines.values()] });
    } else if (depth === 0) {
      keys.push(token.text);
    } else if (depth === 1 && current) {
      const line = current.lines.get(token.line) ?? [];
      line.push(token.text);
      current.lines.set(token.line, line);
    }
  }
  return blocks;
}

function zoneOf(key: string): string {
  return key.replace(/,$/, '').replace(/^[a-z]+:\/\//i, '').replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase() || '.';
}
