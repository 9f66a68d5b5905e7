/**
 * The original Ruby hairpin-proxy's HAProxy, as its image runs it: `hairpin-proxy-haproxy/haproxy.cfg`
 * of compumike/hairpin-proxy (unchanged from its first commit to v0.2.1), a static file with one `mode tcp` frontend per port and a
 * backend whose one server is the ingress controller's Service with `send-proxy`. Nothing else: no
 * `global`, no `defaults`, no timeouts (HAProxy warns, and runs). Benchmarks compare our Data
 * Plane API-configured HAProxy against it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { startProcess, waitFor, type ManagedProcess } from './processes.js';
import { toolPath } from './tools.js';

export interface SeedPort {
  /** Where the frontend binds (the original: 80 and 443 on every address). */
  readonly listen: number;
  /** The ingress controller's port it forwards to (the original: the same number). */
  readonly target: number;
}

/**
 * The original file, line for line, with the image's `${TARGET_SERVER}` filled in and the ports
 * given (a test cannot bind 80 and 443 beside other suites).
 */
export function seedHaproxyConfig(options: { readonly bindAddress: string; readonly targetServer: string; readonly ports: readonly SeedPort[] }): string {
  return options.ports
    .map(
      ({ listen, target }) => `frontend fe_${listen}
bind ${options.bindAddress}:${listen}
mode tcp
use_backend be_ingress_${listen}
backend be_ingress_${listen}
mode tcp
server my_server "${options.targetServer}:${target}" send-proxy
`,
    )
    .join('\n\n');
}

export async function startSeedHaproxy(options: { readonly tmpDir: string; readonly bindAddress: string; readonly targetServer: string; readonly ports: readonly SeedPort[] }): Promise<ManagedProcess> {
  const config = join(options.tmpDir, 'seed-haproxy.cfg');
  writeFileSync(config, seedHaproxyConfig(options));
  const haproxy = startProcess({ name: 'seed-haproxy', command: await toolPath('haproxy'), args: ['-db', '-f', config], logDir: options.tmpDir });
  for (const { listen } of options.ports) {
    await waitFor(() => accepts(options.bindAddress, listen), { timeoutMs: 10_000, intervalMs: 20, what: `the original hairpin-proxy HAProxy on port ${listen}` });
  }
  return haproxy;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
