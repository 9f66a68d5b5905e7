export interface Token {
  readonly text: string;
  /** 1-based line where the token starts, counted like CoreDNS counts them in its error messages. */
  readonly line: number;
}

// Go's unicode.IsSpace is exactly the Unicode White_Space property.
const SPACE = /^\p{White_Space}$/u;

/**
 * The Corefile's tokens as CoreDNS itself reads them: a faithful port of the lexer in
 * github.com/coredns/caddy (caddyfile/lexer.go), quirks included, because any disagreement about
 * where a brace or a comment is would make us edit a different structure than the one CoreDNS
 * loads. The quirks that matter here:
 * - `"` opens a quoted token only at the start of a token; inside it only `\"` is an escape, and
 *   it may span lines. A quoted `"{"` has the text `{`, which CoreDNS then treats as a brace.
 * - `#` outside quotes starts a comment anywhere, even inside a word: at the start of a token it
 *   hides the rest of the line, but inside a word (`foo#bar baz`) only the rest of that word.
 * - `\r` is dropped, not a separator; a leading byte order mark is ignored.
 * Env placeholders (`{$VAR}`, `{%VAR%}`) need no special case: a brace is only ever a whole token.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let start = 1;
  let value = '';
  let started = false;
  let comment = false;
  let quoted = false;
  let escaped = false;
  const emit = (): void => {
    tokens.push({ text: value, line: start });
    value = '';
    started = false;
    comment = false;
    quoted = false;
    escaped = false;
  };

  for (let i = text.startsWith('\uFEFF') ? 1 : 0; i < text.length; i += 1) {
    const ch = text.charAt(i);
    if (quoted) {
      if (!escaped && ch === '\\') {
        escaped = true;
      } else if (!escaped && ch === '"') {
        emit();
      } else {
        if (ch === '\n') line += 1;
        if (escaped && ch !== '"') value += '\\';
        value += ch;
        escaped = false;
      }
    } else if (SPACE.test(ch)) {
      if (ch === '\r') continue;
      if (ch === '\n') {
        line += 1;
        comment = false;
      }
      if (started) emit();
    } else if (ch === '#' || comment) {
      comment = true;
    } else {
      if (!started) {
        started = true;
        start = line;
        if (ch === '"') {
          quoted = true;
          continue;
        }
      }
      value += ch;
    }
  }
  if (value !== '') emit();
  return tokens;
}
