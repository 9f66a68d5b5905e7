/**
 * A plain HTTP GET with curl inside a network namespace: the request really leaves from that
 * namespace, through its resolver, its routes and its iptables rules.
 */
import { run } from './run.js';

export interface HttpGetOptions {
  readonly netns: string;
  /** Skip DNS: connect to this address (curl --resolve), as a client that already resolved would. */
  readonly connectTo?: string;
  readonly timeoutMs: number;
  readonly userAgent?: string;
}

export interface HttpGetResult {
  /** curl's exit code: 0, or e.g. 52 (empty reply), 7 (refused), 28 (timeout), 6 (no such host). */
  readonly curlExit: number;
  /** The HTTP status; undefined when no response came. */
  readonly status: number | undefined;
  readonly body: string;
  /** curl's own error message, when it failed. */
  readonly error: string | undefined;
}

const STATUS_SEPARATOR = '\n--http-status:';

export async function httpGet(url: string, options: HttpGetOptions): Promise<HttpGetResult> {
  const { hostname, port } = new URL(url);
  const args = [
    '--silent', '--show-error', '--noproxy', '*',
    // Go's http.Client (cert-manager) follows redirects; so does this.
    '--location', '--max-redirs', '10',
    '--max-time', String(options.timeoutMs / 1000),
    '--write-out', `${STATUS_SEPARATOR}%{http_code}`,
    ...(options.userAgent ? ['--user-agent', options.userAgent] : []),
    ...(options.connectTo ? ['--resolve', `${hostname}:${port || 80}:${options.connectTo}`] : []),
    url,
  ];
  const result = await run('curl', args, { netns: options.netns, timeoutMs: options.timeoutMs + 5_000 });
  const cut = result.stdout.lastIndexOf(STATUS_SEPARATOR);
  const body = cut === -1 ? result.stdout : result.stdout.slice(0, cut);
  const status = cut === -1 ? 0 : Number(result.stdout.slice(cut + STATUS_SEPARATOR.length));
  return {
    curlExit: result.code,
    status: status > 0 ? status : undefined,
    body,
    error: result.code === 0 ? undefined : result.stderr.trim().replace(/^curl: /, '') || `curl exited ${result.code}`,
  };
}

/** What Go's net/http (cert-manager) reports for the same failure. */
const GO_ERRORS: Readonly<Record<number, string>> = {
  6: 'no such host',
  7: 'connect: connection refused',
  28: 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
  52: 'EOF',
  56: 'read: connection reset by peer',
};

/** "HTTP 200", or "empty reply (curl 52)"-style words for a failed request. */
export function describeHttp(result: HttpGetResult): string {
  if (result.status !== undefined) return `HTTP ${result.status}`;
  if (result.curlExit === 52) return 'empty reply (curl 52)';
  return `${result.error ?? 'failed'} (curl ${result.curlExit})`;
}

export function goError(result: HttpGetResult): string {
  return GO_ERRORS[result.curlExit] ?? result.error ?? `curl exited ${result.curlExit}`;
}
