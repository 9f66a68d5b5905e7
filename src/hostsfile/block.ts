/**
 * The node's /etc/hosts with one block of ours: pure text in, text out (no I/O; the writer is
 * writer.ts).
 *
 * The block is always LAST in the file. Every line that is not ours is kept byte for byte, so the
 * lines before the block never change, and the in-place writer rewrites only from the block's
 * offset. A block found anywhere else (a person moved it, or lines were appended after it) is
 * moved to the end: the user lines that were after it move up once, in the same write, and from
 * then on they are before the block and never move again. Several blocks (a crash, a merge by
 * hand) are all removed and one is written last.
 *
 * The separator, recorded nowhere: when the user's text does not end with a newline, the block is
 * written after one '\n' of ours and without a newline after its END line; otherwise it follows
 * directly and ends with '\n'. So an END line that ends the file without a newline says that the
 * '\n' before the block is ours, and removal restores any file without our markers exactly:
 * `removeHostsBlock(renderHostsFile(x, entries)) === x`, '' and files without a final newline
 * included.
 *
 * Marker lines are recognised with leading blanks and any text after the name (trailing spaces,
 * a CR of a CRLF line, a future wording of the marker). Lines are split on '\n' only: a '\r' stays
 * part of a user line, which is kept byte for byte. Our own lines are always written with '\n',
 * the line ending of Linux, whatever the rest of the file uses.
 *
 * A BEGIN without an END, an END without a BEGIN or a BEGIN inside a block throws HostsFileError
 * (kind 'Invalid'): we cannot tell which lines are ours, so nothing is written until a person
 * fixes the file.
 */

export const HOSTS_BEGIN = '# BEGIN hairpin-proxy: managed by hairpin-proxy, edits here are overwritten';
export const HOSTS_END = '# END hairpin-proxy';

const BEGIN = /^[ \t]*# BEGIN hairpin-proxy(?![\w-])/;
const END = /^[ \t]*# END hairpin-proxy(?![\w-])/;

/** Every address in `addresses` is written for `host`, in the order given. */
export interface HostsEntry {
  readonly host: string;
  readonly addresses: readonly string[];
}

/**
 * /etc/hosts we must not edit: we cannot tell which of its lines are ours. Nothing is written;
 * retrying cannot help until a person fixes the file.
 */
export class HostsFileError extends Error {
  readonly kind = 'Invalid';
  readonly line?: number;

  constructor(problem: string, line?: number) {
    super(line === undefined ? `hosts file ${problem}` : `hosts file line ${line}: ${problem}`);
    this.name = 'HostsFileError';
    this.line = line;
  }
}

/**
 * An entry that cannot be written: a wildcard, an invalid host or address, or one host given two
 * different address lists. A bug of the caller, which filters (and reports) wildcards first.
 */
export class HostsEntryError extends Error {
  readonly kind = 'InvalidEntry';
  readonly host: string;

  constructor(host: string, problem: string) {
    super(`hosts entry ${JSON.stringify(host)}: ${problem}`);
    this.name = 'HostsEntryError';
    this.host = host;
  }
}

/**
 * The hosts file with one block mapping each entry's host to its addresses, last, after removing
 * any block of ours; with no entries, the file without a block. Idempotent.
 * Throws HostsFileError for unmatched markers and HostsEntryError for an entry it cannot write.
 */
export function renderHostsFile(current: string, entries: readonly HostsEntry[]): string {
  const lines = blockLines(entries);
  const { user } = parse(current);
  if (lines.length === 0) return user;
  const block = [HOSTS_BEGIN, ...lines, HOSTS_END].join('\n');
  return user === '' || user.endsWith('\n') ? `${user}${block}\n` : `${user}\n${block}`;
}

/** The hosts file without our block(s), as it was before the first render. */
export function removeHostsBlock(current: string): string {
  return parse(current).user;
}

/**
 * The offset (in UTF-16 code units of `current`, as String.prototype.slice counts) from which
 * renderHostsFile and removeHostsBlock may change the file: the first block of ours, with the
 * separating '\n' that is ours, or the end of the file when there is no block. Everything before it
 * is the same in their results. Throws HostsFileError like them.
 */
export function blockOffset(current: string): number {
  return parse(current).offset;
}

interface Parsed {
  /** The file without our lines (and without the separator we added). */
  readonly user: string;
  readonly offset: number;
}

function parse(current: string): Parsed {
  // Each chunk is a line with its '\n', the last one possibly without.
  const lines = current.split(/(?<=\n)/);
  let user = '';
  let offset: number | undefined;
  let begin: number | undefined;
  let position = 0;
  for (const [i, line] of lines.entries()) {
    if (BEGIN.test(line)) {
      if (begin !== undefined) throw new HostsFileError(`'# BEGIN hairpin-proxy' marker inside a block (the one on line ${begin + 1} has no END)`, i + 1);
      begin = i;
      offset ??= position;
    } else if (END.test(line)) {
      if (begin === undefined) throw new HostsFileError("'# END hairpin-proxy' marker without a BEGIN marker before it", i + 1);
      begin = undefined;
      // An END that ends the file without a newline: the '\n' before the block is ours.
      if (i === lines.length - 1 && !line.endsWith('\n') && user.endsWith('\n')) {
        user = user.slice(0, -1);
        // That '\n' is before the first block when no user line lies between them.
        offset = Math.min(offset ?? position, user.length);
      }
    } else if (begin === undefined) {
      user += line;
    }
    position += line.length;
  }
  if (begin !== undefined) throw new HostsFileError("'# BEGIN hairpin-proxy' marker without an END marker", begin + 1);
  return { user, offset: offset ?? current.length };
}

/** One `<address> <host>` line per address of each host, hosts sorted, each validated. */
function blockLines(entries: readonly HostsEntry[]): string[] {
  const byHost = new Map<string, readonly string[]>();
  for (const { host, addresses } of entries) {
    checkHost(host);
    const unique = [...new Set(addresses)];
    for (const address of unique) {
      if (!isIPv4(address) && !isIPv6(address)) throw new HostsEntryError(host, `${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
    }
    const seen = byHost.get(host);
    if (seen !== undefined && seen.join(' ') !== unique.join(' ')) {
      throw new HostsEntryError(host, `given twice with different addresses (${seen.join(', ')}; ${unique.join(', ')})`);
    }
    byHost.set(host, unique);
  }
  return [...byHost.keys()].sort().flatMap((host) => (byHost.get(host) ?? []).map((address) => `${address} ${host}`));
}

const MAX_NAME_LENGTH = 253;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkHost(host: string): void {
  if (host.includes('*')) throw new HostsEntryError(host, 'a wildcard cannot be written to /etc/hosts');
  if (host.length > MAX_NAME_LENGTH) throw new HostsEntryError(host, `longer than ${MAX_NAME_LENGTH} characters`);
  const labels = host.split('.');
  // A single label (localhost, a short Service name) would shadow names the node itself needs.
  if (labels.length < 2) throw new HostsEntryError(host, 'not a fully qualified name (one label)');
  for (const label of labels) {
    if (!LABEL.test(label)) throw new HostsEntryError(host, `label ${JSON.stringify(label)} is not a lower-case RFC 1123 label`);
  }
  if (labels.every((label) => /^[0-9]+$/.test(label))) throw new HostsEntryError(host, 'an IP address, not a host name');
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

function isIPv4(address: string): boolean {
  const octets = address.split('.');
  return octets.length === 4 && octets.every((octet) => OCTET.test(octet) && Number(octet) <= 255);
}

const GROUP = /^[0-9a-fA-F]{1,4}$/;

/** RFC 4291 text forms: eight groups, one '::' for a run of zeros, an IPv4 tail. No zone (%eth0). */
function isIPv6(address: string): boolean {
  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  const last = groups[groups.length - 1] ?? [];
  let count = 0;
  for (const [h, half] of groups.entries()) {
    for (const [g, group] of half.entries()) {
      if (h === groups.length - 1 && g === last.length - 1 && group.includes('.')) {
        if (!isIPv4(group)) return false;
        count += 2;
      } else if (GROUP.test(group)) {
        count += 1;
      } else {
        return false;
      }
    }
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}
