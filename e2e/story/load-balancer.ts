/**
 * The cloud load balancer in front of the ingress controller: an HAProxy on the LoadBalancer
 * Service's public IP that adds a PROXY header to every connection (`send-proxy`), as AWS NLB,
 * DigitalOcean, Hetzner, Scaleway, OVH… do when proxy protocol is enabled on them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxyProtocolForwarderConfig, startProcess, toolPath, type ForwardedPort, type ManagedProcess, type Netns } from '../harness/index.js';
import { waitForTcp } from './wait.js';

export interface Backend {
  readonly address: string;
  readonly httpPort: number;
  readonly httpsPort: number;
}

/** The http and https listeners of a forwarder to this backend. */
export function ingressPorts(backend: Backend): ForwardedPort[] {
  return [
    { name: 'http', port: 80, backendPort: backend.httpPort },
    { name: 'https', port: 443, backendPort: backend.httpsPort },
  ];
}

export async function startLoadBalancer(options: { netns: Netns; tmpDir: string; address: string; backend: Backend }): Promise<ManagedProcess> {
  const config = join(options.tmpDir, 'load-balancer.cfg');
  writeFileSync(
    config,
    proxyProtocolForwarderConfig({
      comment: 'The cloud load balancer: proxy protocol on.',
      bindAddress: options.address,
      backendAddress: options.backend.address,
      ports: ingressPorts(options.backend),
    }),
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
