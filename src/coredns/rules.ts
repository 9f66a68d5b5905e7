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

interface Wildcard {
  readonly parent: string;
  readonly target: string;
  readonly kind: 'one-label' | 'suffix';
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
  // Wildcards first, keyed `target parent`: the exact hosts they cover with the same target fold in.
  const wildcards = new Map<string, Wildcard>();
  const targets = new Map<string, string>();
  for (const { host, target, wildcard } of routes) {
    checkRoute(host, target);
    const known = targets.get(host);
    if (known !== undefined && known !== target) {
      throw new Error(`rewriteRules: host ${host} is routed to both ${known} and ${target}; the caller must pick one`);
    }
    targets.set(host, target);
    if (!host.startsWith('*.')) continue;
    const parent = host.slice(2);
    const key = `${target} ${parent}`;
    const kind = wildcard ?? 'one-label';
    if (wildcards.get(key)?.kind !== 'suffix') wildcards.set(key, { parent, target, kind });
  }
  beginRender();
  const exact = new Map<string, string[]>();
  for (const [host, target] of targets) {
    if (host.startsWith('*.')) continue;
    const dot = host.indexOf('.');
    if (wildcards.size > 0 && wildcards.has(`${target} ${dot === -1 ? '' : host.slice(dot + 1)}`)) continue;
    push(exact, target, host);
  }
  const oneLabel = new Map<string, string[]>();
  for (const { parent, target, kind } of wildcards.values()) if (kind === 'one-label') push(oneLabel, target, parent);
  const depth = (wildcard: Wildcard) => wildcard.parent.split('.').length;
  return [
    ...byTarget(exact).flatMap(([target, names]) => trieRules(names, '', target, maxPatternLength)),
    ...byTarget(oneLabel).flatMap(([target, parents]) => trieRules(parents, '[^.]+\\.', target, maxPatternLength)),
    ...[...wildcards.values()]
      .filter((wildcard) => wildcard.kind === 'suffix')
      .sort((a, b) => depth(b) - depth(a) || compare(a.parent, b.parent) || compare(a.target, b.target))
      .map((wildcard) => rule('regex', `^.+${suffixPattern(wildcard.parent)}$`, wildcard.target)),
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
 * Above this many names per target, the sorted names are cut into segments at content-defined
 * anchors and each segment's rules are kept for the next render: a change to one host then
 * re-renders one segment, not every trie of the target. Below it, rendering is cheap anyway and
 * the rules are packed across the whole set.
 */
export const SEGMENT_FROM = 4_000;
/** A name ends a segment when its hash is 0 modulo this: segments of about 2,000 names, ~5 rules. */
const ANCHOR_EVERY = 2_048;

/** Segment rules of the previous render and of this one: what is not reused once is dropped. */
let previousSegments = new Map<string, readonly string[]>();
let currentSegments = new Map<string, readonly string[]>();

/**
 * The rules for one target's names, each `^LEAD(names)\.$` (lead is '' for exact hosts, and
 * `[^.]+\.` for one-label wildcards, whose names are then their parents). The sorted names are
 * cut into contiguous runs, each as long as fits in `max` characters, so every rule covers one
 * lexicographic range and has that range's common prefix as its literal start. A rule for exactly
 * one host is an `exact` rule, which CoreDNS compares without a regex.
 *
 * Many names are first cut at anchors, names chosen by their own hash, so an added or removed
 * name moves no boundary but its own segment's, and the other segments' rules (a pure function
 * of their names) are reused from the last render.
 */
function trieRules(names: readonly string[], lead: string, target: string, max: number): string[] {
  const sorted = [...new Set(names)].sort(compare);
  if (sorted.length < SEGMENT_FROM) return packRuns(sorted, lead, target, max);
  const rules: string[] = [];
  let start = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i < sorted.length - 1 && fnv1a(sorted[i] as string) % ANCHOR_EVERY !== 0) continue;
    const segment = sorted.slice(start, i + 1);
    const key = `${lead} ${target} ${max} ${segment.join(' ')}`;
    const known = currentSegments.get(key) ?? previousSegments.get(key) ?? packRuns(segment, lead, target, max);
    currentSegments.set(key, known);
    rules.push(...known);
    start = i + 1;
  }
  return rules;
}

/** Starts a render: segments the last render did not use are forgotten. */
function beginRender(): void {
  previousSegments = currentSegments;
  currentSegments = new Map();
}

function packRuns(sorted: readonly string[], lead: string, target: string, max: number): string[] {
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

/** 32-bit FNV-1a: a cheap, stable hash, so the same names always make the same anchors. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
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
