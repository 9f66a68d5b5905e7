import { describe, expect, it } from '@jest/globals';
import { tokenize } from './lexer.js';

/** Tokens as `text@line`, the way CoreDNS's own lexer (github.com/coredns/caddy) yields them. */
const lex = (text: string): string[] => tokenize(text).map((token) => `${token.text}@${token.line}`);

describe('tokenize follows the Caddyfile lexer CoreDNS uses', () => {
  it.each([
    ['words split on blanks and newlines', '.:53 {\n  errors\n}\n', ['.:53@1', '{@1', 'errors@2', '}@3']],
    ['tabs and other Unicode blanks separate', 'a\tb\u00a0c\u2003d', ['a@1', 'b@1', 'c@1', 'd@1']],
    ['a comment runs to the end of the line', 'a # b { c\nd', ['a@1', 'd@2']],
    ['a # glued to a word hides only the rest of that word', 'loop#} x\ny', ['loop@1', 'x@1', 'y@2']],
    ['a quoted string keeps blanks, braces and #', 'answer "{{ .Name }} # not a comment"', ['answer@1', '{{ .Name }} # not a comment@1']],
    ['only \\" is an escape in a quoted string', String.raw`"a \"b\" \n c"`, [String.raw`a "b" \n c@1`]],
    ['a quote inside a word is an ordinary character', 'a"b c"', ['a"b@1', 'c"@1']],
    ['a quoted string may span lines; the token has its first line', '"a\nb" c', ['a\nb@1', 'c@2']],
    ['a quoted string ends its token', '"a"b', ['a@1', 'b@1']],
    ['an empty quoted string is a token', 'a "" b', ['a@1', '@1', 'b@1']],
    ['a quoted brace has the text of a brace', '"{"', ['{@1']],
    ['env placeholders are words, not braces', 'forward . {$UPSTREAM} {%DNS%}', ['forward@1', '.@1', '{$UPSTREAM}@1', '{%DNS%}@1']],
    ['a brace glued to a word is part of the word', '.:53{', ['.:53{@1']],
    ['CR is dropped, even inside a word', 'a\r\nb\rc', ['a@1', 'bc@2']],
    ['a leading byte order mark is ignored', '\uFEFF. {', ['.@1', '{@1']],
    ['an unterminated quoted string ends at the end of the text', 'a "b c', ['a@1', 'b c@1']],
  ])('%s', (_name, text, tokens) => {
    expect(lex(text)).toEqual(tokens);
  });
});
