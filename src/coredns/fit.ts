/**
 * Keeping what we write under a size limit (a ConfigMap holds at most 1 MiB of data) without ever
 * taking a name away from a host that has it: given routes ordered oldest claim first, the routes
 * kept are the longest prefix whose rendering fits, so a route can only be dropped in favour of
 * routes older than itself. A new host that does not fit is dropped; routed hosts stay routed.
 */

/** What the API server accepts as a ConfigMap's data, all keys together. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

export interface Fitted<T> {
  /** The longest prefix of the routes whose rendering fits (all of them when everything fits). */
  readonly kept: readonly T[];
  /** The rest, in the given order: the newest claims, which did not fit. */
  readonly dropped: readonly T[];
  /** The rendering of `kept`: what to write. */
  readonly text: string;
  /** Its size in UTF-8 bytes. */
  readonly bytes: number;
  /** False when even no routes at all do not fit: the text around our rules is over the limit by itself. */
  readonly fits: boolean;
}

/**
 * Everything when it fits (one render: the usual case). Otherwise the longest prefix of
 * `oldestFirst(routes)` whose `render` is at most `maxBytes` UTF-8 bytes, found by bisection over
 * the prefix length (about log2(routes) renders); the ordering, which may cost a sort of thousands
 * of routes, is done only then. Bisection finds the longest prefix when the rendering grows with
 * the prefix; our rules do, up to the few percent of slack with which rules are packed, where it
 * may keep a prefix a few routes shorter than the longest. Whatever it keeps, it has rendered and
 * measured.
 */
export function fitRoutes<T>(
  routes: readonly T[],
  render: (routes: readonly T[]) => string,
  maxBytes: number,
  oldestFirst: (routes: readonly T[]) => readonly T[] = (given) => given,
): Fitted<T> {
  const all = render(routes);
  const allBytes = utf8Bytes(all);
  if (allBytes <= maxBytes) return { kept: routes, dropped: [], text: all, bytes: allBytes, fits: true };
  const ordered = oldestFirst(routes);
  const measure = (count: number) => {
    const text = render(ordered.slice(0, count));
    return { count, text, bytes: utf8Bytes(text) };
  };
  let good = measure(0);
  if (good.bytes > maxBytes) return result(ordered, good, false);
  let bad = ordered.length;
  while (bad - good.count > 1) {
    const middle = measure(Math.floor((good.count + bad) / 2));
    if (middle.bytes <= maxBytes) good = middle;
    else bad = middle.count;
  }
  return result(ordered, good, true);
}

function result<T>(routes: readonly T[], { count, text, bytes }: { count: number; text: string; bytes: number }, fits: boolean): Fitted<T> {
  return { kept: routes.slice(0, count), dropped: routes.slice(count), text, bytes, fits };
}

/** The bytes a ConfigMap has left for key: the API server caps all of its values together at 1 MiB. */
export function roomFor(data: Readonly<Record<string, string>>, key: string): number {
  let others = 0;
  for (const [name, value] of Object.entries(data)) if (name !== key) others += utf8Bytes(value);
  return CONFIGMAP_MAX_BYTES - others;
}

// Counted, not encoded: a Corefile of hundreds of KB is measured on every sync.
function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
