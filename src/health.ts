import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSources {
  /** Alive: the process is not wedged (the event loop answers). */
  readonly live: () => boolean;
  /**
   * Ready: every informer has synced, and the Corefile has been synced once by this replica or
   * this replica stands by (a rollout must not wait for a standby to lead). A failing HAProxy
   * replica does not make the controller unready: it shows in that replica's metrics and logs.
   */
  readonly ready: () => boolean;
  readonly registry: Registry;
}

export async function startHealthServer(host: string, port: number, sources: HealthSources): Promise<Server> {
  const server = createServer((req, res) => {
    const answer = (ok: boolean) => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    };
    if (req.url === '/healthz') return answer(sources.live());
    if (req.url === '/readyz') return answer(sources.ready());
    if (req.url === '/metrics') {
      sources.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': sources.registry.contentType }).end(body),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
