export interface Route {
  readonly host: string;
  readonly target: string;
  /** For `*.` hosts: Ingress semantics (exactly one label, the default) or Gateway API's (a suffix). */
  readonly wildcard?: 'one-label' | 'suffix';
}

/**
 * The longest pattern one rule may carry. CoreDNS refuses a rewrite regex over 10,000 characters.
 * Fewer, longer rules are cheaper per query than more, shorter ones, even the short ones Go's
 * regexp runs one-pass (docs/dns-rules.md has the measured curve), so patterns are packed up to
 * just under the limit.
 */
export const MAX_PATTERN_LENGTH = 9_900;

const HOST = /^(\*|[a-z0-9-]{1,63})(\.[a-z0-9-]{1,63})*$/;
const TARGET = /^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*$/;
const MAX_NAME_LENGTH = 253;

export interface RuleOptions {
  /** For measuring other rule lengths (bench/dns.ts); CoreDNS refuses more than 10,000. */
  readonly maxPatternLength?: number;
}

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
 * - Every query walks the rules until one matches, and each rule costs it about the same, so the
 *   names of one target share as few rules as possible: one pattern per target holds a trie of its
 *   names over reversed labels (`^(?:(?:a|b)\.shop|c\.blog)\.example\.com\.$`), each parent
 *   written once, split into several rules only where a pattern would exceed MAX_PATTERN_LENGTH.
 * - CoreDNS matches the question name in its lower-cased, fully qualified form (request.Name()
 *   lower-cases it, since v0.9.9), so patterns end in `\.$` and need no `(?i)`: mixed-case
 *   queries already match, and the answer comes back lower-cased. Groups do not capture: the
 *   replacement uses none, and captures cost every match.
 * - An Ingress wildcard `*.example.com` matches exactly one more label, hence `[^.]+` before a trie
 *   of its parents; a Gateway API wildcard matches one or more (`.+`), and wins where both name the
 *   same parent and target. Exact hosts a wildcard already covers with the same target are folded
 *   into it.
 * - Exact rules come before wildcard rules so that, as in Ingress and Gateway API, an exact host
 *   routed elsewhere wins over a wildcard covering it; suffix wildcards come last, deepest parent
 *   first, so the most specific one matches. Exact names, and one-label wildcards, never overlap
 *   one another, so their rules' order among themselves changes no answer.
 * Output is sorted and de-duplicated: the same routes always give the same text, so an unchanged
 * set of routes never causes a ConfigMap write.
 */
export function rewriteRules(routes: readonly Route[], { maxPatternLength = MAX_PATTERN_LENGTH }: RuleOptions = {}): string[] {
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
  const exact = new Map<string, string[]>();
  const oneLabel = new Map<string, string[]>();
  for (const group of groups.values()) {
    if (!group.wildcard) for (const label of group.labels) push(exact, group.target, group.parent === '' ? label : `${label}.${group.parent}`);
    else if (group.wildcard === 'one-label') push(oneLabel, group.target, group.parent);
  }
  const depth = (group: Group) => group.parent.split('.').length;
  return [
    ...byTarget(exact).flatMap(([target, names]) => trieRules(names, '', target, maxPatternLength)),
    ...byTarget(oneLabel).flatMap(([target, parents]) => trieRules(parents, '[^.]+\\.', target, maxPatternLength)),
    ...[...groups.values()]
      .filter((group) => group.wildcard === 'suffix')
      .sort((a, b) => depth(b) - depth(a) || compare(a.parent, b.parent) || compare(a.target, b.target))
      .map((group) => rule('regex', `^.+${suffixPattern(group.parent)}$`, group.target)),
  ];
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const values = map.get(key) ?? [];
  map.set(key, values);
  values.push(value);
}

function byTarget(map: Map<string, string[]>): [string, string[]][] {
  return [...map.entries()].sort(([a], [b]) => compare(a, b));
}

/**
 * The rules for one target's names, each `^LEAD(names)\.$` (lead is '' for exact hosts, and
 * `[^.]+\.` for one-label wildcards, whose names are then their parents). The sorted names are
 * cut into contiguous runs, each as long as fits in `max` characters, so every rule covers one
 * lexicographic range and has that range's common prefix as its literal start. A rule for exactly
 * one host is an `exact` rule, which CoreDNS compares without a regex.
 */
function trieRules(names: readonly string[], lead: string, target: string, max: number): string[] {
  const sorted = [...new Set(names)].sort(compare);
  const render = (run: readonly string[]) => `^${lead}${trie(run)}\\.$`;
  const rules: string[] = [];
  for (let start = 0, guess = 64; start < sorted.length; ) {
    const end = longestRun(sorted.length, start, guess, (stop) => render(sorted.slice(start, stop)).length <= max);
    guess = end - start;
    const [only] = sorted.slice(start, end);
    rules.push(end - start === 1 && lead === '' && only !== undefined ? rule('exact', only, target) : rule('regex', render(sorted.slice(start, end)), target));
    start = end;
  }
  return rules;
}

/**
 * A stop > start for which fits(stop) holds, within 1/16 of the largest one, given that fits holds
 * up to some point and not after it (a run's pattern only grows as names are added). The search
 * starts from the previous run's length, which neighbouring runs of similar names nearly repeat,
 * and steps by an eighth: a few renders per rule, not one per name, for patterns packed to within
 * a few percent of the limit.
 */
function longestRun(total: number, start: number, guess: number, fits: (stop: number) => boolean): number {
  let good = start + 1;
  let bad = total + 1;
  let probe = Math.min(total, start + Math.max(1, guess));
  while (probe > good && probe < bad) {
    if (fits(probe)) good = probe;
    else bad = probe;
    const length = probe - start;
    probe = start + (bad === probe ? Math.floor(length - length / 8) : Math.ceil(length + length / 8));
    probe = Math.min(probe, total);
  }
  while (bad - good > Math.max(1, (good - start) / 16)) {
    const middle = Math.floor((good + bad) / 2);
    if (fits(middle)) good = middle;
    else bad = middle;
  }
  return good;
}

/**
 * A regex matching exactly `names` (sorted, distinct), written as a character trie: the common
 * prefix and the common suffix of the set are written once, and the rest splits by first
 * character. Every alternation therefore has branches that start with distinct characters, so Go's
 * regexp follows one branch per character instead of trying them all (and runs a small rule with
 * its one-pass matcher), and a shared parent domain is written once per run, not once per host.
 */
function trie(names: readonly string[]): string {
  const [first = '', ...rest] = names;
  if (rest.length === 0) return quoteMeta(first);
  const last = names[names.length - 1] ?? '';
  // Sorted: the common prefix of the set is that of its first and last names.
  let head = 0;
  while (head < first.length && first[head] === last[head]) head += 1;
  let tail = first.length - head;
  for (const name of rest) {
    let shared = 0;
    while (shared < tail && shared < name.length - head && name[name.length - 1 - shared] === first[first.length - 1 - shared]) shared += 1;
    tail = shared;
  }
  const middles = names.map((name) => name.slice(head, name.length - tail));
  // Cutting a common suffix can reorder (`abc` < `ac`, but `a` < `ab`): alternatives needs them sorted.
  if (tail > 0) middles.sort(compare);
  return `${quoteMeta(first.slice(0, head))}${alternatives(middles)}${quoteMeta(first.slice(first.length - tail))}`;
}

/**
 * Sorted distinct strings with no common prefix: `(?:a…|b…)`, `(?:…)?` when '' is one of them.
 * Strings split by first character; runs whose names end in the same parent domain are then
 * merged into one branch (`(?:a|b)\.example\.com`), which keeps the branches' first characters
 * distinct and writes the parent once.
 */
function alternatives(middles: readonly string[]): string {
  const present = middles.filter((middle) => middle !== '');
  const byParent = new Map<string, string[]>();
  let index = 0;
  for (const run of runsByFirst(present)) {
    const parent = commonParent(run);
    const key = parent === '' ? `${index++}` : `.${parent}`;
    const merged = byParent.get(key);
    if (merged) merged.push(...run);
    else byParent.set(key, [...run]);
  }
  const branches = [...byParent.values()].map(trie);
  const [only] = branches;
  const body = branches.length === 1 && only !== undefined && only.length === 1 ? only : `(?:${branches.join('|')})`;
  return present.length === middles.length ? body : `${body}?`;
}

function runsByFirst(sorted: readonly string[]): string[][] {
  const runs: string[][] = [];
  for (const name of sorted) {
    const run = runs.at(-1);
    if (run !== undefined && run[0]?.[0] === name[0]) run.push(name);
    else runs.push([name]);
  }
  return runs;
}

/** The parent domain (after a dot) that all names of the run end in, or ''. */
function commonParent(run: readonly string[]): string {
  const [first = ''] = run;
  let shared = first.length;
  for (const name of run) {
    let n = 0;
    while (n < shared && n < name.length && name[name.length - 1 - n] === first[first.length - 1 - n]) n += 1;
    shared = n;
  }
  const suffix = first.slice(first.length - shared);
  const dot = suffix.indexOf('.');
  return dot === -1 ? '' : suffix.slice(dot + 1);
}

function rule(type: 'exact' | 'regex', from: string, target: string): string {
  return `rewrite stop name ${type} ${from} ${target}. answer auto`;
}

function suffixPattern(parent: string): string {
  return quoteMeta(parent === '' ? '.' : `.${parent}.`);
}

// Of Go's regexp.QuoteMeta set, validated names only ever contain `.` (checkRoute; `*` is a
// wildcard's first label, never quoted); `-` is literal outside a character class in RE2.
// A plain replaceAll: this runs on every piece of every trie, and the regex version dominated.
function quoteMeta(text: string): string {
  return text.replaceAll('.', '\\.');
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
