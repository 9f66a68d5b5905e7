/**
 * A bounded HTTP load generator: a fixed number of GETs, a fixed number in flight, each on a new
 * connection (so every request is routed by HAProxy's current server set), each with a timeout.
 * It stops by itself; `stop` ends it early.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly path?: string;
  readonly requests: number;
  readonly concurrency: number;
  readonly timeoutMs?: number;
  /** Set to end the run before the budget is spent. */
  readonly stop?: AbortSignal;
  /** Send a PROXY v1 line first, as a load balancer would: for talking to nginx directly. */
  readonly proxyHeader?: boolean;
}

export interface LoadResult {
  readonly requests: number;
  readonly failed: number;
  /** The first few failures, for the test's message. */
  readonly failures: readonly string[];
  readonly seconds: number;
  readonly perSecond: number;
  /** Answer bodies by count. */
  readonly bodies: ReadonlyMap<string, number>;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const bodies = new Map<string, number>();
  const failures: string[] = [];
  let failed = 0;
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < options.requests && !options.stop?.aborted) {
      issued += 1;
      try {
        const body = await get(options);
        bodies.set(body, (bodies.get(body) ?? 0) + 1);
      } catch (error) {
        failed += 1;
        if (failures.length < 10) failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { requests: issued, failed, failures, seconds, perSecond: issued / seconds, bodies };
}

function get(options: LoadOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.host,
        port: options.port,
        path: options.path ?? '/',
        agent: false,
        timeout: options.timeoutMs ?? 5_000,
        ...(options.proxyHeader ? { createConnection: () => withProxyHeader(options.host, options.port) } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`))));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function withProxyHeader(host: string, port: number) {
  const socket = connect(port, host);
  // Written before http.request queues its bytes, so the header goes first. The source fields are
  // the client's claim, as a load balancer's would be; nginx reads them, it does not check them.
  socket.write(`PROXY TCP4 127.0.0.1 ${host} 40000 ${port}\r\n`);
  return socket;
}
