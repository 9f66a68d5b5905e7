/** What the caller should do about a failed API call. */
export type KubeErrorKind = 'Conflict' | 'NotFound' | 'Invalid' | 'Forbidden' | 'Unauthorized' | 'Unavailable';

export class KubeError extends Error {
  constructor(
    readonly kind: KubeErrorKind,
    readonly operation: string,
    readonly status: number | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${kind}${status ? ` (HTTP ${status})` : ''}: ${detail}`, options);
    this.name = 'KubeError';
  }
}

/** Turns whatever client-node threw (ApiException, fetch or socket errors) into a KubeError. */
export function toKubeError(operation: string, error: unknown): KubeError {
  if (error instanceof KubeError) return error;
  const status = statusOf(error);
  const detail = messageOf(error);
  return new KubeError(kindOf(status), operation, status, detail, { cause: error });
}

function kindOf(status: number | undefined): KubeErrorKind {
  switch (status) {
    case 409:
      return 'Conflict';
    case 404:
      return 'NotFound';
    case 400:
    case 422:
      return 'Invalid';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    default:
      return 'Unavailable';
  }
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** ApiException bodies arrive as JSON strings (a Status object); keep only its message. */
function messageOf(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      return body.slice(0, 500);
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof cause === 'string' ? `${message} (${cause})` : message;
}
