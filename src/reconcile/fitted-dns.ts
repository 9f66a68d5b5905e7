/**
 * What the controller writes when not every route fits in its ConfigMap, in one place, so that the
 * controller, doctor and plan agree: the routes oldest claim first, as many as fit beside the
 * ConfigMap's other keys, and the rest named as dropped.
 */
import { byClaimAge, type PlannedRoute } from '../plan/routes.js';
import { CorefileError, renderCorefile, type Route } from '../coredns/corefile.js';
import { renderOverride } from '../coredns/custom.js';
import { fitRoutes } from '../coredns/fit.js';

export interface FittedRules {
  /** What to write: the Corefile (or the override, undefined when it holds no rules). */
  readonly text: string | undefined;
  /** Routed hosts that did not fit, newest claims; empty when everything fits. */
  readonly dropped: readonly PlannedRoute[];
}

/**
 * The Corefile routing as many of the routes as fit, oldest claims first. Throws a CorefileError
 * when the ConfigMap has no room even for the Corefile without our rules: nothing is written then.
 */
export function fitCorefile(corefile: string, routes: readonly PlannedRoute[], room: number): FittedRules {
  const fitted = fitRoutes(routes, (kept) => renderCorefile(corefile, kept.map(routeOf)), room, byClaimAge);
  if (!fitted.fits) throw new CorefileError(`without our rules is ${fitted.bytes} bytes, more than the ${room} bytes the ConfigMap's limit leaves for it`);
  return { text: fitted.text, dropped: fitted.dropped };
}

/** The coredns-custom override routing as many of the routes as fit in room. */
export function fitOverride(routes: readonly PlannedRoute[], room: number): FittedRules {
  const fitted = fitRoutes(routes, (kept) => renderOverride(kept.map(routeOf)) ?? '', room, byClaimAge);
  return { text: fitted.kept.length === 0 ? undefined : fitted.text, dropped: fitted.dropped };
}

/** Hosts named in one message; the count says how many more there are. */
export const NAMED_DROPPED = 20;

/** What to fix when routes do not fit: the same advice wherever they are reported. */
export const DROPPED_FIX = 'remove hosts, or use --coredns-mode external-dns, which has no such limit';

/** The sentence the controller's Event and doctor share about routes that do not fit in where. */
export function describeDropped(dropped: readonly PlannedRoute[], where: string): string {
  const hosts = dropped.map((route) => route.host);
  const named = hosts.slice(0, NAMED_DROPPED).join(', ') + (hosts.length > NAMED_DROPPED ? ` and ${hosts.length - NAMED_DROPPED} more` : '');
  return `${hosts.length} host(s) do not fit in ${where} under the 1 MiB ConfigMap limit and are not routed (the newest claims): ${named}`;
}

/** A planned route as the renderers take it. */
export function routeOf({ host, target, wildcard }: PlannedRoute): Route {
  return { host, target, ...(wildcard ? { wildcard } : {}) };
}
