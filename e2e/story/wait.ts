import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { toolPath, waitFor } from '../harness/index.js';

const exec = promisify(execFile);

export interface ListenAddress {
  readonly netns?: string;
  readonly address: string;
  readonly port: number;
}

/** The TCP listeners of a namespace, as `address:port` strings. ss comes with ip (iproute2). */
async function tcpListeners(netns: string | undefined): Promise<string[]> {
  const [file, args] = netns ? [await toolPath('ip'), ['netns', 'exec', netns, 'ss', '-Hltn']] : ['ss', ['-Hltn']];
  const { stdout } = await exec(file, args, { timeout: 10_000 });
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[3] ?? '')
    .filter(Boolean);
}

/**
 * Waits until something listens on address:port inside the namespace. A connect() probe would
 * need a client inside the namespace; asking the kernel's socket table (ss) does not.
 */
export async function waitForTcp(endpoint: ListenAddress, what: string, timeoutMs = 15_000): Promise<void> {
  const wanted = [`${endpoint.address}:${endpoint.port}`, `0.0.0.0:${endpoint.port}`, `*:${endpoint.port}`];
  await waitFor(async () => (await tcpListeners(endpoint.netns)).some((local) => wanted.includes(local)), {
    timeoutMs,
    intervalMs: 100,
    what: `${what} to listen on ${endpoint.address}:${endpoint.port}${endpoint.netns ? ` in ${endpoint.netns}` : ''}`,
  });
}
