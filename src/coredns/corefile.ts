import { CorefileError } from './corefile-error.js';
import { rewriteRules, type Route } from './rules.js';
import { findRootBlocks } from './server-blocks.js';

export { CorefileError } from './corefile-error.js';
export { rewriteRules, type Route } from './rules.js';

export const BEGIN_MARKER = '# BEGIN hairpin-proxy: managed by hairpin-proxy, edits here are overwritten';
export const END_MARKER = '# END hairpin-proxy';

// Recognised loosely (any text after the name) so that a future wording of the marker still
// finds blocks written by an older release.
const BEGIN = /^[ \t]*# BEGIN hairpin-proxy(?![\w-])/;
const END = /^[ \t]*# END hairpin-proxy(?![\w-])/;
// What the original Ruby hairpin-proxy appended to each of its lines.
const LEGACY = /# Added by hairpin-proxy\s*$/;
const DEFAULT_INDENT = '    ';

interface Line {
  readonly text: string;
  /** '\n', '\r\n', or '' for a last line without a newline. */
  readonly eol: string;
}

/**
 * The Corefile with one marker block of rewrite rules for the routes at the top of each root
 * server block, after removing any block of ours and any line left by the original hairpin-proxy.
 * Nothing else changes, byte for byte, so that with no routes the Corefile is restored exactly.
 * Throws CorefileError for a Corefile CoreDNS would reject or that we could not edit safely.
 */
export function renderCorefile(corefile: string, routes: readonly Route[]): string {
  const rules = rewriteRules(routes);
  const lines = splitLines(corefile);
  const ours = ownedLines(lines);
  // Our lines are parsed as empty lines, so that the structure is the user's alone and the line
  // numbers in errors are those of the Corefile as given.
  const roots = findRootBlocks(lines.map((line, i) => (ours.has(i) ? line.eol : line.text + line.eol)).join(''));
  const insertAfter = new Map(roots.map((root) => [root.openLine - 1, root.firstDirectiveLine]));

  let output = '';
  for (const [i, line] of lines.entries()) {
    if (!ours.has(i)) output += line.text + line.eol;
    if (rules.length === 0 || !insertAfter.has(i)) continue;
    const firstDirectiveLine = insertAfter.get(i);
    const indent =
      firstDirectiveLine === undefined ? leadingBlanks(line.text) + DEFAULT_INDENT : leadingBlanks(lines[firstDirectiveLine - 1]?.text ?? '');
    output += [BEGIN_MARKER, ...rules, END_MARKER].map((text) => indent + text + line.eol).join('');
  }
  return output;
}

/** The Corefile without hairpin-proxy's rules, old or new: what `uninstall` writes back. */
export function removeHairpinRules(corefile: string): string {
  return renderCorefile(corefile, []);
}

function splitLines(text: string): Line[] {
  return text.split(/(?<=\n)/).map((chunk) => {
    const eol = chunk.endsWith('\r\n') ? '\r\n' : chunk.endsWith('\n') ? '\n' : '';
    return { text: chunk.slice(0, chunk.length - eol.length), eol };
  });
}

/** Indexes of the lines we own: our marker blocks (wherever a person moved them) and legacy lines. */
function ownedLines(lines: readonly Line[]): Set<number> {
  const owned = new Set<number>();
  let begin: number | undefined;
  for (const [i, { text }] of lines.entries()) {
    if (BEGIN.test(text)) {
      if (begin !== undefined) throw new CorefileError(`nested '# BEGIN hairpin-proxy' marker (the one on line ${begin + 1} has no END)`, i + 1);
      begin = i;
    } else if (END.test(text)) {
      if (begin === undefined) throw new CorefileError("'# END hairpin-proxy' marker without a BEGIN marker before it", i + 1);
      for (let j = begin; j <= i; j += 1) owned.add(j);
      begin = undefined;
    } else if (LEGACY.test(text)) {
      owned.add(i);
    }
  }
  if (begin !== undefined) throw new CorefileError("'# BEGIN hairpin-proxy' marker without an END marker", begin + 1);
  return owned;
}

function leadingBlanks(text: string): string {
  return /^[ \t]*/.exec(text)?.[0] ?? '';
}
