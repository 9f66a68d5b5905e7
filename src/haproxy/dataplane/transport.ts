import { setTimeout as sleep } from 'node:timers/promises';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { DataPlaneError, kindOfStatus } from './errors.js';

export interface TransportOptions {
  /** API root including the version prefix, e.g. `http://127.0.0.1:5555/v3`. */
  baseURL: string;
  username: string;
  /** A function is asked at every request: the password can change while the client lives (rotation). */
  password: string | (() => string);
  /** Told of every 401: the password in use may be stale. */
  onUnauthorized?: () => void;
  /** Per attempt; a sync must not hang on one stuck data-plane pod. Default 10 s. */
  timeoutMs?: number;
  /** Attempts for an idempotent request, the first included (1 = no retry). Default 4. */
  maxAttempts?: number;
  /** Backoff before the 2nd attempt; doubles each time up to maxDelayMs, with jitter. Default 200 ms. */
  baseDelayMs?: number;
  /** Default 5 s. */
  maxDelayMs?: number;
  /** Told before each retry, so the caller can log or count it. */
  onRetry?: (retry: RetryInfo) => void;
}

export interface RetryInfo {
  method: Method;
  path: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  error: DataPlaneError;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Query = Record<string, string | number | boolean | undefined>;

export interface TransportRequest {
  method: Method;
  /** Below baseURL, already URL-encoded where it holds names. */
  path: string;
  query?: Query;
  body?: unknown;
  timeoutMs?: number;
  /** Cancels the request, and any wait before a retry: it rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Whether a failed attempt may be sent again. Defaults to true for GET, PUT and DELETE: a
   * replayed versioned write that had in fact landed comes back as a typed Conflict/NotFound
   * rather than doing something twice. POSTs (create, start transaction) are never replayed.
   */
  idempotent?: boolean;
}

export interface Reply<T> {
  status: number;
  data: T;
  /** The `Configuration-Version` response header, when the API sent one. */
  configurationVersion?: number;
  /** The `Reload-ID` response header: the change was accepted and a reload was scheduled. */
  reloadId?: string;
}

/** A thin typed HTTP layer over axios: auth, timeouts, bounded retries, typed errors. */
export class Transport {
  readonly #http: AxiosInstance;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #onRetry: ((retry: RetryInfo) => void) | undefined;
  readonly #onUnauthorized: (() => void) | undefined;
  readonly #username: string;
  readonly #password: () => string;

  constructor(options: TransportOptions) {
    const { password } = options;
    this.#username = options.username;
    this.#password = typeof password === 'string' ? () => password : password;
    this.#onUnauthorized = options.onUnauthorized;
    this.#http = axios.create({
      baseURL: options.baseURL,
      timeout: options.timeoutMs ?? 10_000,
      // Every status is a reply we classify ourselves; axios errors then mean "no reply".
      validateStatus: () => true,
      // Report timeouts as ETIMEDOUT instead of the ambiguous ECONNABORTED.
      transitional: { clarifyTimeoutError: true },
      headers: { Accept: 'application/json' },
    });
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.#baseDelayMs = options.baseDelayMs ?? 200;
    this.#maxDelayMs = options.maxDelayMs ?? 5_000;
    this.#onRetry = options.onRetry;
  }

  async request<T>(req: TransportRequest): Promise<Reply<T>> {
    const idempotent = req.idempotent ?? req.method !== 'POST';
    const attempts = idempotent ? this.#maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      req.signal?.throwIfAborted();
      try {
        return await this.#once<T>(req);
      } catch (error) {
        req.signal?.throwIfAborted();
        if (!(error instanceof DataPlaneError) || error.kind !== 'Unavailable' || attempt >= attempts) throw error;
        const delayMs = this.#backoff(attempt);
        this.#onRetry?.({ method: req.method, path: req.path, attempt, delayMs, error });
        await sleep(delayMs, undefined, { signal: req.signal }).catch((aborted: unknown) => {
          req.signal?.throwIfAborted();
          throw aborted;
        });
      }
    }
  }

  async #once<T>(req: TransportRequest): Promise<Reply<T>> {
    let response: AxiosResponse;
    try {
      response = await this.#http.request({
        method: req.method,
        url: req.path,
        params: req.query,
        data: req.body,
        auth: { username: this.#username, password: this.#password() },
        ...(req.signal ? { signal: req.signal } : {}),
        ...(req.timeoutMs === undefined ? {} : { timeout: req.timeoutMs }),
      });
    } catch (error) {
      // No HTTP reply at all: refused, reset, timed out, DNS. The API is not there right now.
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      const detail = typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
      throw new DataPlaneError('Unavailable', req.method, req.path, undefined, detail, { cause: error });
    }
    if (response.status >= 400) {
      if (response.status === 401) this.#onUnauthorized?.();
      throw new DataPlaneError(kindOfStatus(response.status), req.method, req.path, response.status, messageOf(response));
    }
    const version = Number(response.headers['configuration-version']);
    const reloadId = response.headers['reload-id'];
    return {
      status: response.status,
      // 204 and friends arrive as an empty string; callers expect "no data".
      data: (response.data === '' ? undefined : response.data) as T,
      ...(Number.isInteger(version) ? { configurationVersion: version } : {}),
      ...(typeof reloadId === 'string' && reloadId !== '' ? { reloadId } : {}),
    };
  }

  /** Exponential with "equal jitter": never below half the step, so retries still spread out. */
  #backoff(attempt: number): number {
    const step = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    return Math.round(step / 2 + Math.random() * (step / 2));
  }
}

/** The API's error model is `{ code, message }`; proxies in between may send text or HTML. */
function messageOf(response: AxiosResponse): string {
  const body: unknown = response.data;
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 500);
  return response.statusText || `HTTP ${response.status}`;
}
