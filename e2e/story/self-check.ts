/**
 * cert-manager's HTTP-01 self-check (pkg/issuer/acme/http), run from the cert-manager pod's
 * namespace: GET http://<host>/.well-known/acme-challenge/<token> by hostname through the pod's
 * own resolver, with a 10 s timeout per request, expecting status 200 and the key authorization as
 * the body, and requiring 5 passes in a row ~2 s apart. Any failure ends the check with
 * cert-manager's error text; cert-manager then retries later, and only a passed check lets it ask
 * the ACME server to validate.
 */
import { sleep } from '../harness/index.js';
import { goError, httpGet, type HttpGetResult } from './http-get.js';

/** cert-manager's own figures. */
export const CERT_MANAGER_SELF_CHECK = {
  requiredPasses: 5,
  passIntervalMs: 2_000,
  requestTimeoutMs: 10_000,
  retryIntervalMs: 10_000,
} as const;

export interface SelfCheckOptions {
  /** The cert-manager pod's namespace. */
  readonly netns: string;
  readonly host: string;
  readonly token: string;
  readonly keyAuthorization: string;
  /** No check starts later than this after the first one: then the self-check has failed. */
  readonly giveUpAfterMs: number;
  readonly passIntervalMs?: number;
  readonly retryIntervalMs?: number;
  readonly requiredPasses?: number;
  /** Called after every request, for narration. */
  readonly onRequest?: (request: SelfCheckRequest) => void;
}

export interface SelfCheckRequest {
  /** Since the self-check began. */
  readonly atMs: number;
  readonly http: HttpGetResult;
  /** cert-manager's error for this request; undefined when it passed. */
  readonly error: string | undefined;
  /** Consecutive passes so far. */
  readonly passes: number;
}

export interface SelfCheckResult {
  readonly passed: boolean;
  readonly requests: readonly SelfCheckRequest[];
  /** The last error cert-manager would show on the Challenge; undefined when it passed. */
  readonly lastError: string | undefined;
  readonly elapsedMs: number;
}

export function challengeUrl(host: string, token: string): string {
  return `http://${host}/.well-known/acme-challenge/${token}`;
}

/** cert-manager's message for one request, or undefined when the request passed. */
export function selfCheckError(url: string, keyAuthorization: string, http: HttpGetResult): string | undefined {
  if (http.status === undefined) return `failed to perform self check GET request '${url}': Get "${url}": ${goError(http)}`;
  if (http.status !== 200) return `wrong status code '${http.status}', expected '200'`;
  if (http.body !== keyAuthorization) {
    return `did not get expected response when querying endpoint, expected "${keyAuthorization}" but got: ${http.body.slice(0, 200)}`;
  }
  return undefined;
}

export async function runSelfCheck(options: SelfCheckOptions): Promise<SelfCheckResult> {
  const requiredPasses = options.requiredPasses ?? CERT_MANAGER_SELF_CHECK.requiredPasses;
  const passIntervalMs = options.passIntervalMs ?? CERT_MANAGER_SELF_CHECK.passIntervalMs;
  const retryIntervalMs = options.retryIntervalMs ?? CERT_MANAGER_SELF_CHECK.retryIntervalMs;
  const url = challengeUrl(options.host, options.token);
  const started = Date.now();
  const requests: SelfCheckRequest[] = [];
  let lastError: string | undefined;
  for (;;) {
    let passes = 0;
    while (passes < requiredPasses) {
      const http = await httpGet(url, {
        netns: options.netns,
        timeoutMs: CERT_MANAGER_SELF_CHECK.requestTimeoutMs,
        userAgent: 'cert-manager-challenges (hairpin-proxy story)',
      });
      const error = selfCheckError(url, options.keyAuthorization, http);
      if (error === undefined) passes += 1;
      const request = { atMs: Date.now() - started, http, error, passes };
      requests.push(request);
      options.onRequest?.(request);
      if (error !== undefined) {
        lastError = error;
        break;
      }
      if (passes < requiredPasses) await sleep(passIntervalMs);
    }
    if (passes === requiredPasses) return { passed: true, requests, lastError: undefined, elapsedMs: Date.now() - started };
    if (Date.now() - started + retryIntervalMs > options.giveUpAfterMs) break; // the next check would start too late
    await sleep(retryIntervalMs);
  }
  return { passed: false, requests, lastError, elapsedMs: Date.now() - started };
}
