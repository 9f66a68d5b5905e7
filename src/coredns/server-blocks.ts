import { CorefileError } from './corefile-error.js';
import { tokenize, type Token } from './lexer.js';

/** A server block for the root zone on port 53: where CoreDNS resolves the cluster's names. */
export interface RootBlock {
  /** The line holding the block's `{`: our rules go right after it. */
  readonly openLine: number;
  /** The line of the block's first directive, whose indentation ours copy; none for an empty block. */
  readonly firstDirectiveLine: number | undefined;
}

// Only these keys catch every name on the port the cluster's DNS Service targets; a block for
// another port (node-local-dns' health server, a test port) or a stub zone never sees Ingress hosts.
const ROOT_KEYS = new Set(['.', '.:53', 'dns://.', 'dns://.:53']);

/**
 * Finds the root server blocks, following the parser of github.com/coredns/caddy
 * (caddyfile/parse.go) for what it takes to be server keys, imports, snippets and braces, and
 * refusing, with the line, whatever CoreDNS would refuse or we could not edit safely.
 */
export function findRootBlocks(corefile: string): RootBlock[] {
  const tokens = tokenize(corefile);
  const roots: RootBlock[] = [];
  const openBraces: number[] = [];
  let keys: Token[] = [];
  let snippet = false;
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] as Token;
    const previous = tokens[i - 1];
    if (openBraces.length > 0) {
      if (token.text === '{') openBraces.push(token.line);
      if (token.text === '}') openBraces.pop();
      // CoreDNS reads a directive up to the end of its line, so a server block can only end on a
      // line of its own. Snippets are read brace by brace and may end anywhere.
      if (openBraces.length === 0 && !snippet && previous?.line === token.line && previous.text !== '{') {
        throw new CorefileError("the '}' that closes the server block shares its line with a directive", token.line);
      }
      continue;
    }
    if (token.text === '}') throw new CorefileError("unbalanced '}'", token.line);
    if (token.text === '{') {
      if (keys.length === 0) throw new CorefileError("'{' without a server address before it", token.line);
      if (keys.some((key) => ROOT_KEYS.has(key.text.replace(/,$/, '').toLowerCase()))) {
        roots.push(rootBlock(token, tokens[i + 1]));
      }
      openBraces.push(token.line);
      snippet = keys.length === 1 && /^\(.*\)$/.test(keys[0]?.text ?? '');
      keys = [];
      continue;
    }
    const last = keys.at(-1);
    // A trailing comma continues the key list on the next line; otherwise a new line ends it.
    if (last !== undefined && !last.text.endsWith(',') && token.line > last.line) {
      throw new CorefileError(`expected '{' after the server address ${keyList(keys)}`, last.line);
    }
    if (keys.length === 0 && token.text === 'import' && previous?.line !== token.line) {
      // Top-level `import` (k3s' `import /etc/coredns/custom/*.server`) pulls in whole server
      // blocks we cannot see; skip its argument so that it is not taken for a server address.
      while (tokens[i + 1]?.line === token.line) i += 1;
      continue;
    }
    if (token.text.endsWith('{')) {
      throw new CorefileError(`'${token.text}' needs a space before '{': CoreDNS reads it as the zone name '${token.text}'`, token.line);
    }
    keys.push(token);
  }
  const unclosed = openBraces.at(-1);
  if (unclosed !== undefined) throw new CorefileError("unclosed '{'", unclosed);
  if (keys[0] !== undefined) throw new CorefileError(`expected '{' after the server address ${keyList(keys)}`, keys[0].line);
  if (roots.length === 0) throw new CorefileError("has no root server block ('.', '.:53' or 'dns://.:53')");
  return roots;
}

function rootBlock(brace: Token, next: Token | undefined): RootBlock {
  if (next?.line === brace.line) {
    throw new CorefileError(
      `the root server block has '${next.text}' on the same line as its '{'; put its directives on their own lines`,
      brace.line,
    );
  }
  return { openLine: brace.line, firstDirectiveLine: next?.text === '}' ? undefined : next?.line };
}

function keyList(keys: readonly Token[]): string {
  return `'${keys.map((key) => key.text).join(' ')}'`;
}
