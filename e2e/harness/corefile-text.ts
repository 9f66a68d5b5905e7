/**
 * Reading hairpin-proxy's marker block out of a Corefile, independently of src/coredns (a test
 * that used the code under test to check its own output would prove little).
 */
const BEGIN = /^[ \t]*# BEGIN hairpin-proxy/;
const END = /^[ \t]*# END hairpin-proxy/;

/** The lines of every marker block (markers included), joined; '' when there is none. */
export function markerBlock(corefile: string): string {
  const out: string[] = [];
  let inside = false;
  for (const line of corefile.split('\n')) {
    if (BEGIN.test(line)) inside = true;
    if (inside) out.push(line);
    if (END.test(line)) inside = false;
  }
  return out.join('\n');
}

/** The Corefile with every marker block removed, byte for byte otherwise. */
export function withoutMarkerBlock(corefile: string): string {
  let inside = false;
  return corefile
    .split(/(?<=\n)/)
    .filter((line) => {
      if (BEGIN.test(line)) inside = true;
      const keep = !inside;
      if (END.test(line)) inside = false;
      return keep;
    })
    .join('');
}

/**
 * Whether the marker block routes host: some rewrite line's match accepts it (for `*.parent`, a
 * name one label under parent), evaluated here on the words of the line with JavaScript's RegExp,
 * which reads this simple syntax as RE2 does. Rules share patterns, so a host's text need not
 * appear as such; DNS answers remain the proof.
 */
export function blockMentions(block: string, host: string): boolean {
  const name = `${host.startsWith('*.') ? `wildcard-probe${host.slice(1)}` : host}.`;
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim().split(/\s+/))
    .filter((words) => words[0] === 'rewrite')
    .some((words) => {
      const rest = words.slice(words.indexOf('name') + 1);
      const [type = '', from = ''] = ['exact', 'regex', 'prefix', 'suffix', 'substring'].includes(rest[0] ?? '') ? rest : ['exact', ...rest];
      const fqdn = from.endsWith('.') ? from : `${from}.`;
      if (type === 'regex') return new RegExp(from).test(name);
      if (type === 'exact') return fqdn === name;
      if (type === 'suffix') return name.endsWith(fqdn);
      return false;
    });
}
