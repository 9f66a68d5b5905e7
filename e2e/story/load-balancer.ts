/**
 * The cloud load balancer in front of the ingress controller: an HAProxy on the LoadBalancer
 * Service's public IP that adds a PROXY header to every connection (`send-proxy`), as AWS NLB,
 * DigitalOcean, Hetzner, Scaleway, OVH… do when proxy protocol is enabled on them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, toolPath, type ManagedProcess, type Netns } from '../harness/index.js';
import { waitForTcp } from './wait.js';

export interface Backend {
  readonly address: string;
  readonly httpPort: number;
  readonly httpsPort: number;
}

/** HAProxy in TCP mode: each listener forwards to the same port of the backend with a PROXY v1 header. */
export function proxyProtocolForwarderConfig(options: { comment: string; bindAddress: string; backend: Backend }): string {
  const { comment, bindAddress, backend } = options;
  const section = (name: string, port: number, backendPort: number) => `
listen ${name}
    bind ${bindAddress}:${port}
    server ingress ${backend.address}:${backendPort} send-proxy`;
  return `# ${comment}
global
    log stderr format short local0 notice
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 60s
    timeout server 60s
${section('http', 80, backend.httpPort)}
${section('https', 443, backend.httpsPort)}
`;
}

export async function startLoadBalancer(options: { netns: Netns; tmpDir: string; address: string; backend: Backend }): Promise<ManagedProcess> {
  const config = join(options.tmpDir, 'load-balancer.cfg');
  writeFileSync(
    config,
    proxyProtocolForwarderConfig({ comment: 'The cloud load balancer: proxy protocol on.', bindAddress: options.address, backend: options.backend }),
  );
  const haproxy = startProcess({
    name: 'load-balancer',
    command: await toolPath('haproxy'),
    args: ['-db', '-f', config],
    logDir: options.tmpDir,
    netns: options.netns.name,
  });
  await waitForTcp({ netns: options.netns.name, address: options.address, port: 80 }, 'the load balancer');
  return haproxy;
}
