export interface Route {
  readonly host: string;
  readonly target: string;
  /** For `*.` hosts: Ingress semantics (exactly one label, the default) or Gateway API's (a suffix). */
  readonly wildcard?: 'one-label' | 'suffix';
}

/**
 * Names per regex alternation: keeps each pattern below CoreDNS's 10,000-character limit on a
 * rewrite regex (at most 100 first labels of 63 characters, plus the parent: about 6,600) while
 * still turning thousands of hosts into a few dozen rules for every query to walk through.
 */
export const MAX_NAMES_PER_RULE = 100;

const HOST = /^(\*|[a-z0-9-]{1,63})(\.[a-z0-9-]{1,63})*$/;
const TARGET = /^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*$/;
const MAX_NAME_LENGTH = 253;

interface Group {
  readonly parent: string;
  readonly target: string;
  wildcard: false | 'one-label' | 'suffix';
  readonly labels: Set<string>;
}

/**
 * The `rewrite` lines (without indentation) that make each route's host resolve to its target.
 *
 * Why these forms:
 * - `answer auto` makes the answer carry the asked name instead of the target's (CoreDNS >= 1.8.4;
 *   the match TYPE must then be spelled out). `stop` ends the rule walk at the first match.
 * - Hosts are grouped by (target, parent domain): one regex alternation per group instead of a
 *   rule per host keeps the Corefile small and the per-query rule walk short.
 * - CoreDNS matches the question name in its lower-cased, fully qualified form (request.Name()
 *   lower-cases it, since v0.9.9), so patterns end in `\.$` and need no `(?i)`: mixed-case
 *   queries already match, and the answer comes back lower-cased.
 * - An Ingress wildcard `*.example.com` matches exactly one more label, hence `[^.]+`; a Gateway
 *   API wildcard matches one or more (`.+`), and wins where both name the same parent and target.
 *   Exact hosts a wildcard already covers with the same target are folded into it.
 * - Exact rules come before wildcard rules so that, as in Ingress and Gateway API, an exact host
 *   routed elsewhere wins over a wildcard covering it; suffix wildcards come last, deepest parent
 *   first, so the most specific one matches.
 * Output is sorted and de-duplicated: the same routes always give the same text, so an unchanged
 * set of routes never causes a ConfigMap write.
 */
export function rewriteRules(routes: readonly Route[]): string[] {
  const groups = new Map<string, Group>();
  const targets = new Map<string, string>();
  for (const { host, target, wildcard } of routes) {
    checkRoute(host, target);
    const known = targets.get(host);
    if (known !== undefined && known !== target) {
      throw new Error(`rewriteRules: host ${host} is routed to both ${known} and ${target}; the caller must pick one`);
    }
    targets.set(host, target);
    const dot = host.indexOf('.');
    const [label, parent] = dot === -1 ? [host, ''] : [host.slice(0, dot), host.slice(dot + 1)];
    const key = `${target} ${parent}`;
    const group = groups.get(key) ?? { parent, target, wildcard: false, labels: new Set<string>() };
    groups.set(key, group);
    if (label !== '*') group.labels.add(label);
    else if (group.wildcard !== 'suffix') group.wildcard = wildcard ?? 'one-label';
  }
  const sorted = [...groups.values()].sort((a, b) => compare(a.parent, b.parent) || compare(a.target, b.target));
  const depth = (group: Group) => group.parent.split('.').length;
  return [
    ...sorted.filter((group) => !group.wildcard).flatMap(exactRules),
    ...sorted.filter((group) => group.wildcard === 'one-label').map((group) => rule('regex', `^[^.]+${suffixPattern(group.parent)}$`, group.target)),
    ...sorted
      .filter((group) => group.wildcard === 'suffix')
      .sort((a, b) => depth(b) - depth(a))
      .map((group) => rule('regex', `^.+${suffixPattern(group.parent)}$`, group.target)),
  ];
}

function exactRules(group: Group): string[] {
  const labels = [...group.labels].sort(compare);
  const rules: string[] = [];
  for (let i = 0; i < labels.length; i += MAX_NAMES_PER_RULE) {
    const chunk = labels.slice(i, i + MAX_NAMES_PER_RULE);
    const [only] = chunk;
    rules.push(
      chunk.length === 1 && only !== undefined
        ? rule('exact', group.parent === '' ? only : `${only}.${group.parent}`, group.target)
        : rule('regex', `^(${chunk.map(quoteMeta).join('|')})${suffixPattern(group.parent)}$`, group.target),
    );
  }
  return rules;
}

function rule(type: 'exact' | 'regex', from: string, target: string): string {
  return `rewrite stop name ${type} ${from} ${target}. answer auto`;
}

function suffixPattern(parent: string): string {
  return quoteMeta(parent === '' ? '.' : `.${parent}.`);
}

// Go's regexp.QuoteMeta set. Validated hosts only ever contain `.` from it; `-` is literal
// outside a character class in RE2, so escaping it would only lengthen the patterns.
function quoteMeta(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

// Defence in depth: a host or target that reached us unvalidated could otherwise inject
// whitespace, braces, quotes or comments into the Corefile. The caller validates; we refuse.
function checkRoute(host: string, target: string): void {
  if (host.length > MAX_NAME_LENGTH || !HOST.test(host) || host === '*') {
    throw new Error(`rewriteRules: invalid host ${JSON.stringify(host)}; hosts must be validated, lower-cased DNS names or *.parent wildcards`);
  }
  if (target.length > MAX_NAME_LENGTH || !TARGET.test(target)) {
    throw new Error(`rewriteRules: invalid target ${JSON.stringify(target)}; it must be a lower-case DNS name without a trailing dot`);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
