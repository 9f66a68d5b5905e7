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
 * Whether the marker block has a rule for host: its first label and its parent domain appear in
 * one rewrite line (plain or regex-escaped). A loose check on the text; DNS answers are the proof.
 */
export function blockMentions(block: string, host: string): boolean {
  const dot = host.indexOf('.');
  const [first, parent] = dot === -1 ? [host, ''] : [host.slice(0, dot), host.slice(dot + 1)];
  const parentForms = [parent, parent.replaceAll('.', '\\.')];
  return block
    .split('\n')
    .filter((line) => /^\s*rewrite\b/.test(line))
    .some((line) => (first === '*' || line.includes(first)) && parentForms.some((form) => line.includes(form)));
}
