import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { DataPlaneClient } from './client.js';
import { DataPlaneError } from './errors.js';

interface Hit {
  method: string;
  url: string;
  body: unknown;
}
type Handler = (hit: Hit, res: ServerResponse, n: number) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A real HTTP server on 127.0.0.1 standing in for the API; records each request. */
async function fakeApi(handler: Handler): Promise<{ client: DataPlaneClient; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const hit = { method: req.method ?? '', url: req.url ?? '', body: raw ? JSON.parse(raw) : undefined };
      hits.push(hit);
      handler(hit, res, hits.length);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new DataPlaneClient({
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`,
    username: 'u',
    password: 'p',
    baseDelayMs: 1,
    reloadPollMs: 1,
  });
  return { client, hits };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

const server = { name: 'web 1', address: '10.0.0.1', port: 443 };

describe('DataPlaneClient writes', () => {
  it('a server written with a version and applied at runtime is live, and enabled by default', async () => {
    const { client, hits } = await fakeApi((hit, res) => json(res, 201, hit.body));
    const result = await client.createServer('be/1', server, { version: 3 });
    expect(result).toEqual({ data: { ...server, maintenance: 'disabled' }, effect: 'live' });
    expect(hits[0]).toMatchObject({ method: 'POST', url: '/v3/services/haproxy/configuration/backends/be%2F1/servers?version=3' });
  });

  it('keeps an explicit maintenance setting', async () => {
    const { client, hits } = await fakeApi((hit, res) => json(res, 201, hit.body));
    await client.createServer('be', { ...server, maintenance: 'enabled' }, { version: 3 });
    expect(hits[0]?.body).toMatchObject({ maintenance: 'enabled' });
  });

  it('a write that needs a reload reports its reload id', async () => {
    const { client } = await fakeApi((hit, res) =>
      json(res, 202, hit.body, { 'Reload-ID': '2026-11-25-9', 'Configuration-Version': '5' }),
    );
    const result = await client.createBackend({ name: 'be', mode: 'tcp' }, { version: 4 });
    expect(result).toEqual({ data: { name: 'be', mode: 'tcp' }, version: 5, effect: 'reload-scheduled', reloadId: '2026-11-25-9' });
  });

  it('a write in a transaction is staged, with no version sent', async () => {
    const { client, hits } = await fakeApi((hit, res) => json(res, 202, hit.body, { 'Configuration-Version': '9' }));
    const result = await client.replaceServer('be', 's1', { name: 's1', address: '10.0.0.2' }, { transactionId: 'tx-1' });
    // The header then holds the live version, which the transaction does not move: not reported.
    expect(result).toEqual({ data: { name: 's1', address: '10.0.0.2' }, effect: 'staged' });
    expect(hits[0]).toMatchObject({ method: 'PUT', url: '/v3/services/haproxy/configuration/backends/be/servers/s1?transaction_id=tx-1' });
  });

  it('writes sections whole (full_section), binds and servers inline', async () => {
    const { client, hits } = await fakeApi((hit, res) => json(res, 200, hit.body));
    await client.replaceBackend('be', { name: 'be', servers: { s1: { name: 's1', address: '10.0.0.2' } } }, { transactionId: 't' });
    await client.createFrontend({ name: 'fe' }, { transactionId: 't' });
    expect(hits.map((hit) => hit.url)).toEqual([
      '/v3/services/haproxy/configuration/backends/be?full_section=true&transaction_id=t',
      '/v3/services/haproxy/configuration/frontends?full_section=true&transaction_id=t',
    ]);
  });
});

describe('DataPlaneClient transactions', () => {
  it('does not re-send a commit whose reply was a 503', async () => {
    const { client, hits } = await fakeApi((_hit, res) => json(res, 503, { code: 503, message: 'down' }));
    await expect(client.commitTransaction('tx')).rejects.toMatchObject({ kind: 'Unavailable', status: 503 });
    expect(hits).toHaveLength(1);
  });

  it('reports the reload a commit scheduled, or one already done', async () => {
    const tx = { id: 'tx', status: 'success', _version: 8 };
    const { client, hits } = await fakeApi((_hit, res, n) => (n === 1 ? json(res, 202, tx, { 'Reload-ID': 'r1' }) : json(res, 200, tx)));
    expect(await client.commitTransaction('tx')).toEqual({ transaction: tx, effect: 'reload-scheduled', reloadId: 'r1' });
    expect(await client.commitTransaction('tx')).toEqual({ transaction: tx, effect: 'reloaded' });
    expect(hits.map((h) => `${h.method} ${h.url}`)).toEqual(['PUT /v3/services/haproxy/transactions/tx', 'PUT /v3/services/haproxy/transactions/tx']);
  });
});

describe('DataPlaneClient reads', () => {
  it('snapshot re-reads until frontends and backends carry the same version', async () => {
    const { client, hits } = await fakeApi((hit, res, n) => {
      const version = hit.url.includes('backends') && n <= 2 ? '11' : '12';
      json(res, 200, [], { 'Configuration-Version': version });
    });
    expect(await client.snapshot()).toEqual({ version: 12, frontends: [], backends: [] });
    expect(hits).toHaveLength(4);
    expect(hits.every((h) => h.url.endsWith('?full_section=true'))).toBe(true);
  });

  it('snapshot gives up as a Conflict if the configuration keeps moving', async () => {
    const { client } = await fakeApi((hit, res, n) => json(res, 200, [], { 'Configuration-Version': String(n) }));
    await expect(client.snapshot()).rejects.toMatchObject({ kind: 'Conflict' });
  });
});

describe('DataPlaneClient.waitForReload', () => {
  it('polls until the reload succeeded', async () => {
    const { client, hits } = await fakeApi((_hit, res, n) => json(res, 200, { id: 'r', status: n < 3 ? 'in_progress' : 'succeeded' }));
    expect(await client.waitForReload('r')).toEqual({ id: 'r', status: 'succeeded' });
    expect(hits).toHaveLength(3);
  });

  it('turns a failed reload into an Unavailable error with HAProxy\'s output', async () => {
    const { client } = await fakeApi((_hit, res) => json(res, 200, { id: 'r', status: 'failed', response: 'bad keyword' }));
    const error = await client.waitForReload('r').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataPlaneError);
    expect(error).toMatchObject({ kind: 'Unavailable', apiMessage: 'reload failed: bad keyword' });
  });

  it('stops waiting after the timeout', async () => {
    const { client } = await fakeApi((_hit, res) => json(res, 200, { id: 'r', status: 'in_progress' }));
    await expect(client.waitForReload('r', { timeoutMs: 20 })).rejects.toMatchObject({ kind: 'Unavailable' });
  });
});
