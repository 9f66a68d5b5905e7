import { tokenize } from './lexer.js';
import { rewriteRules, type Route } from './rules.js';

/**
 * k3s and AKS manage the `coredns` Corefile themselves and revert edits to it; their Corefile
 * imports `*.override` files from the `coredns-custom` ConfigMap inside the root server block
 * instead. In `custom` mode our rules live in one key of that ConfigMap, ours alone.
 */
export const OVERRIDE_KEY = 'hairpin-proxy.override';

const HEADER = '# hairpin-proxy: managed by hairpin-proxy, edits here are overwritten';
const ROOT_KEYS = new Set(['.', '.:53', 'dns://.', 'dns://.:53']);

/** The override file for the routes; undefined when there are none (the key is then removed). */
export function renderOverride(routes: readonly Route[]): string | undefined {
  const rules = rewriteRules(routes);
  return rules.length === 0 ? undefined : [HEADER, ...rules, ''].join('\n');
}

/**
 * True when a root server block of the Corefile imports `*.override` files (k3s:
 * `import /etc/coredns/custom/*.override`): what `--coredns-mode auto` takes for "extend CoreDNS
 * through coredns-custom, do not edit the Corefile". Read with CoreDNS's own tokenizer, so a
 * commented-out import does not count.
 */
export function importsOverrides(corefile: string): boolean {
  let depth = 0;
  let keys: string[] = [];
  let inRoot = false;
  const tokens = tokenize(corefile);
  for (const [i, token] of tokens.entries()) {
    if (token.text === '{') {
      if (depth === 0) inRoot = keys.some((key) => ROOT_KEYS.has(key.replace(/,$/, '').toLowerCase()));
      depth += 1;
      keys = [];
    } else if (token.text === '}') {
      depth = Math.max(0, depth - 1);
    } else if (depth === 0) {
      keys.push(token.text);
    } else if (depth === 1 && inRoot && token.text === 'import' && tokens[i - 1]?.line !== token.line) {
      const path = tokens[i + 1];
      if (path?.line === token.line && /\.override$/.test(path.text)) return true;
    }
  }
  return false;
}
