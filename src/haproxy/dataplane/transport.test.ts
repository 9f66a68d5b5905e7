import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Cancelled } from '../../cancel.js';
import { DataPlaneError } from './errors.js';
import { Transport, type RetryInfo, type TransportOptions } from './transport.js';

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A real HTTP server on 127.0.0.1 answering with `handler`; returns its base URL and hit log. */
async function serve(handler: Handler): Promise<{ url: string; hits: IncomingMessage[] }> {
  const hits: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    hits.push(req);
    handler(req, res, hits.length);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`, hits };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function transport(url: string, extra: Partial<TransportOptions> = {}): { t: Transport; retries: RetryInfo[] } {
  const retries: RetryInfo[] = [];
  const t = new Transport({
    baseURL: url,
    username: 'admin',
    password: 's3cret',
    maxAttempts: 3,
    baseDelayMs: 1,
    maxDelayMs: 4,
    onRetry: (r) => retries.push(r),
    ...extra,
  });
  return { t, retries };
}

async function rejection(promise: Promise<unknown>): Promise<DataPlaneError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataPlaneError);
  return error as DataPlaneError;
}

describe('Transport', () => {
  it('sends basic auth and query, and reads Configuration-Version and Reload-ID', async () => {
    const { url, hits } = await serve((_req, res) =>
      json(res, 202, { name: 'b1' }, { 'Configuration-Version': '7', 'Reload-ID': '2026-11-25-3' }),
    );
    const { t } = transport(url);
    const reply = await t.request<{ name: string }>({
      method: 'POST',
      path: '/services/haproxy/configuration/backends',
      query: { version: 6, force_reload: undefined },
      body: { name: 'b1' },
    });
    expect(reply).toEqual({ status: 202, data: { name: 'b1' }, configurationVersion: 7, reloadId: '2026-11-25-3' });
    expect(hits[0]?.url).toBe('/v3/services/haproxy/configuration/backends?version=6');
    expect(hits[0]?.headers.authorization).toBe(`Basic ${Buffer.from('admin:s3cret').toString('base64')}`);
  });

  it('asks a password function at every request and reports each 401, so a rotated password is picked up', async () => {
    const { url, hits } = await serve((req, res) =>
      req.headers.authorization === `Basic ${Buffer.from('admin:new').toString('base64')}` ? json(res, 200, {}) : json(res, 401, { message: 'invalid credentials' }),
    );
    let password = 'old';
    let unauthorized = 0;
    const { t } = transport(url, { password: () => password, onUnauthorized: () => (unauthorized += 1) });
    expect((await rejection(t.request({ method: 'GET', path: '/info' }))).kind).toBe('Unauthorized');
    password = 'new';
    expect((await t.request({ method: 'GET', path: '/info' })).status).toBe(200);
    expect(hits).toHaveLength(2);
    expect(unauthorized).toBe(1);
  });

  it('returns undefined data for 204', async () => {
    const { url } = await serve((_req, res) => res.writeHead(204).end());
    const reply = await transport(url).t.request({ method: 'DELETE', path: '/x' });
    expect(reply).toEqual({ status: 204, data: undefined });
  });

  it('retries an idempotent request on 503, then succeeds', async () => {
    const { url, hits } = await serve((_req, res, hit) =>
      hit < 3 ? json(res, 503, { code: 503, message: 'busy' }) : json(res, 200, 42),
    );
    const { t, retries } = transport(url);
    const reply = await t.request<number>({ method: 'GET', path: '/services/haproxy/configuration/version' });
    expect(reply.data).toBe(42);
    expect(hits).toHaveLength(3);
    expect(retries.map((r) => [r.attempt, r.error.kind, r.error.status])).toEqual([
      [1, 'Unavailable', 503],
      [2, 'Unavailable', 503],
    ]);
  });

  it('never retries a POST, even on 503', async () => {
    const { url, hits } = await serve((_req, res) => json(res, 503, { code: 503, message: 'busy' }));
    const error = await rejection(transport(url).t.request({ method: 'POST', path: '/services/haproxy/transactions' }));
    expect(error.kind).toBe('Unavailable');
    expect(hits).toHaveLength(1);
  });

  it('does not retry a version conflict and types it', async () => {
    const { url, hits } = await serve((_req, res) =>
      json(res, 409, { code: 409, message: 'version mismatch, transaction version: 3, configured version: 4' }),
    );
    const error = await rejection(transport(url).t.request({ method: 'PUT', path: '/services/haproxy/configuration/backends/b1' }));
    expect(hits).toHaveLength(1);
    expect(error).toMatchObject({
      kind: 'Conflict',
      method: 'PUT',
      path: '/services/haproxy/configuration/backends/b1',
      status: 409,
      apiMessage: 'version mismatch, transaction version: 3, configured version: 4',
    });
    expect(error.message).toBe(
      'PUT /services/haproxy/configuration/backends/b1: Conflict (HTTP 409): version mismatch, transaction version: 3, configured version: 4',
    );
  });

  const statuses: ReadonlyArray<[status: number, kind: DataPlaneError['kind']]> = [
    [406, 'OutdatedTransaction'],
    [429, 'TooManyTransactions'],
    [401, 'Unauthorized'],
    [403, 'Unauthorized'],
    [404, 'NotFound'],
    [400, 'Invalid'],
    [422, 'Invalid'],
    [500, 'Unavailable'],
  ];
  it.each(statuses)('maps HTTP %i to %s', async (status, kind) => {
    const { url } = await serve((_req, res) => json(res, status, { code: status, message: `said ${status}` }));
    const error = await rejection(transport(url, { maxAttempts: 1 }).t.request({ method: 'GET', path: '/p' }));
    expect(error).toMatchObject({ kind, status, apiMessage: `said ${status}` });
  });

  it('keeps a non-JSON error body as the message', async () => {
    const { url } = await serve((_req, res) => res.writeHead(502, { 'Content-Type': 'text/html' }).end('<h1>Bad Gateway</h1>\n'));
    const error = await rejection(transport(url, { maxAttempts: 1 }).t.request({ method: 'GET', path: '/p' }));
    expect(error).toMatchObject({ kind: 'Unavailable', status: 502, apiMessage: '<h1>Bad Gateway</h1>' });
  });

  it('gives up on a refused connection after the bounded attempts, as Unavailable', async () => {
    const { url } = await serve(() => undefined);
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    const { t, retries } = transport(url);
    const error = await rejection(t.request({ method: 'GET', path: '/info' }));
    expect(error).toMatchObject({ kind: 'Unavailable', status: undefined, method: 'GET', path: '/info' });
    expect(error.apiMessage).toContain('ECONNREFUSED');
    expect(retries).toHaveLength(2);
  });

  it('times out a request that gets no answer, and retries it', async () => {
    const pending: ServerResponse[] = [];
    const { url, hits } = await serve((_req, res) => pending.push(res));
    const started = Date.now();
    const error = await rejection(transport(url, { timeoutMs: 100, maxAttempts: 2 }).t.request({ method: 'GET', path: '/info' }));
    pending.forEach((res) => res.destroy());
    expect(error.kind).toBe('Unavailable');
    expect(error.apiMessage).toContain('ETIMEDOUT');
    expect(hits).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('lets one request have its own timeout', async () => {
    const { url } = await serve((_req, res) => setTimeout(() => json(res, 200, 'late'), 150));
    const { t } = transport(url, { timeoutMs: 50, maxAttempts: 1 });
    expect((await t.request({ method: 'GET', path: '/slow', timeoutMs: 2_000 })).data).toBe('late');
  });

  it('backs off exponentially with jitter, capped', async () => {
    const { url } = await serve((_req, res) => json(res, 503, { code: 503, message: 'busy' }));
    const { t, retries } = transport(url, { maxAttempts: 5, baseDelayMs: 8, maxDelayMs: 20 });
    await rejection(t.request({ method: 'GET', path: '/p' }));
    const steps = [8, 16, 20, 20];
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
    retries.forEach((r, i) => {
      const step = steps[i] ?? Number.NaN;
      expect(r.delayMs).toBeGreaterThanOrEqual(step / 2);
      expect(r.delayMs).toBeLessThanOrEqual(step);
    });
  });

  describe('cancelled through its signal', () => {
    it('ends a request in flight at once with the signal\'s reason, and does not retry it', async () => {
      const pending: ServerResponse[] = [];
      const { url, hits } = await serve((_req, res) => pending.push(res));
      const { t, retries } = transport(url, { timeoutMs: 10_000 });
      const abort = new AbortController();
      const request = t.request({ method: 'GET', path: '/info', signal: abort.signal }).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = Date.now();
      abort.abort(new Cancelled('the leader lease was lost'));
      const error = await request;
      pending.forEach((res) => res.destroy());
      expect(error).toBeInstanceOf(Cancelled);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(hits).toHaveLength(1);
      expect(retries).toHaveLength(0);
    });

    it('ends a backoff wait between attempts', async () => {
      const { url, hits } = await serve((_req, res) => json(res, 503, { code: 503, message: 'busy' }));
      const abort = new AbortController();
      const { t } = transport(url, { baseDelayMs: 60_000, maxDelayMs: 60_000, onRetry: () => abort.abort(new Cancelled('shutting down')) });
      const started = Date.now();
      await expect(t.request({ method: 'GET', path: '/p', signal: abort.signal })).rejects.toBeInstanceOf(Cancelled);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(hits).toHaveLength(1);
    });

    it('does not start a request whose signal is already aborted', async () => {
      const { url, hits } = await serve((_req, res) => json(res, 200, {}));
      const abort = new AbortController();
      abort.abort(new Cancelled('shutting down'));
      await expect(transport(url).t.request({ method: 'GET', path: '/p', signal: abort.signal })).rejects.toBeInstanceOf(Cancelled);
      expect(hits).toHaveLength(0);
    });
  });
});
