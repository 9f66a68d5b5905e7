/**
 * A real nginx whose every listener requires the PROXY protocol, as ingress-nginx does with
 * `use-proxy-protocol: "true"`. Each answer names the listener that served it and the client
 * address nginx read from the PROXY header, so a test can see both where traffic went and that
 * the header arrived.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startProcess, waitFor, type ManagedProcess } from './processes.js';
import { toolPath } from './tools.js';

export interface Listener {
  readonly address: string;
  readonly port: number;
  /** Default true. A plain listener serves the same answers to clients that send no PROXY line. */
  readonly proxyProtocol?: boolean;
}

export interface ProxyProtocolNginx {
  readonly process: ManagedProcess;
  readonly listeners: readonly Listener[];
}

/** The body of every answer: `served-by=<listener address>:<port> client=<PROXY source address>`. */
export function parseAnswer(body: string): { servedBy: string; client: string } | undefined {
  const match = /^served-by=(\S+) client=(\S*)$/.exec(body.trim());
  return match ? { servedBy: match[1] ?? '', client: match[2] ?? '' } : undefined;
}

/**
 * A whole nginx.conf for an nginx that runs as a child of the test: in the foreground, with its pid
 * file and temp dirs (created here) under `dir`. `http` is the body of the http block.
 */
export function testNginxConfig(dir: string, http: string, header = ''): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
  for (const sub of temp) mkdirSync(join(dir, sub), { recursive: true });
  return `${header}# Workers run as root only because the test's temp dir is private to root.
user root;
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 1024; }
http {
${temp.map((sub) => `    ${sub}_temp_path ${join(dir, sub)};`).join('\n')}
${http}
}
`;
}

export async function startProxyProtocolNginx(options: { tmpDir: string; name: string; listeners: readonly Listener[]; netns?: string }): Promise<ProxyProtocolNginx> {
  const dir = join(options.tmpDir, `nginx-${options.name}`);
  const config = join(dir, 'nginx.conf');
  writeFileSync(
    config,
    testNginxConfig(
      dir,
      `    access_log off;
    server {
${options.listeners.map((l) => `        listen ${l.address}:${l.port}${l.proxyProtocol === false ? '' : ' proxy_protocol'};`).join('\n')}
        location / {
            default_type text/plain;
            return 200 "served-by=$server_addr:$server_port client=$proxy_protocol_addr\\n";
        }
    }`,
    ),
  );
  const process = startProcess({
    name: `nginx-${options.name}`,
    command: await toolPath('nginx'),
    args: ['-e', 'stderr', '-c', config],
    logDir: options.tmpDir,
    ...(options.netns ? { netns: options.netns } : {}),
  });
  for (const listener of options.listeners) {
    await waitFor(() => canConnect(listener), { timeoutMs: 10_000, what: `nginx listening on ${listener.address}:${listener.port}` });
  }
  return { process, listeners: options.listeners };
}

function canConnect({ address, port }: Listener): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, address, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
