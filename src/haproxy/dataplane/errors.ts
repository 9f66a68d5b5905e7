/**
 * What the caller should do about a failed Data Plane API call:
 * - Conflict (409): the `version` sent is stale, or the object already exists. Re-read and re-plan.
 * - OutdatedTransaction (406): another commit landed after this transaction started (or it failed
 *   validation earlier). Throw it away and start over from a fresh version.
 * - TooManyTransactions (429): the API's open-transaction limit is reached. Retry later.
 * - Unauthorized (401/403): credentials are wrong; retrying will not help.
 * - NotFound (404), Invalid (400/422): the request itself is wrong for the current config.
 * - Unavailable (5xx, connection errors, timeouts): the API or HAProxy is down or busy.
 */
export type DataPlaneErrorKind =
  | 'Conflict'
  | 'OutdatedTransaction'
  | 'TooManyTransactions'
  | 'Unauthorized'
  | 'NotFound'
  | 'Invalid'
  | 'Unavailable';

export class DataPlaneError extends Error {
  constructor(
    readonly kind: DataPlaneErrorKind,
    readonly method: string,
    readonly path: string,
    /** HTTP status; undefined when no response arrived (connection error, timeout). */
    readonly status: number | undefined,
    /** The API's own `message` (or the socket error's), for logs and Events. */
    readonly apiMessage: string,
    options?: { cause?: unknown },
  ) {
    super(`${method} ${path}: ${kind}${status ? ` (HTTP ${status})` : ''}: ${apiMessage}`, options);
    this.name = 'DataPlaneError';
  }
}

/** The kind an HTTP status maps to; anything unexpected counts as the server being unwell. */
export function kindOfStatus(status: number): DataPlaneErrorKind {
  switch (status) {
    case 409:
      return 'Conflict';
    case 406:
      return 'OutdatedTransaction';
    case 429:
      return 'TooManyTransactions';
    case 401:
    case 403:
      return 'Unauthorized';
    case 404:
      return 'NotFound';
    case 400:
    case 422:
      return 'Invalid';
    default:
      return 'Unavailable';
  }
}

