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

export interface LoadBalancerOptions {
  readonly netns: Netns;
  readonly tmpDir: string;
  readonly address: string;
  readonly backend: Backend;
  /** What the upstream expects (default v1). */
  readonly proxyProtocol?: 'v1' | 'v2';
  /** For the process and config names when there are several (default load-balancer). */
  readonly name?: string;
}

export async function startLoadBalancer(options: LoadBalancerOptions): Promise<ManagedProcess> {
  const name = options.name ?? 'load-balancer';
  const config = join(options.tmpDir, `${name}.cfg`);
  writeFileSync(
    config,
    proxyProtocolForwarderConfig({
      comment: `The cloud load balancer: proxy protocol ${options.proxyProtocol ?? 'v1'} on.`,
      bindAddress: options.address,
      backendAddress: options.backend.address,
      ports: ingressPorts(options.backend),
      ...(options.proxyProtocol ? { proxyProtocol: options.proxyProtocol } : {}),
    }),
  );
  const haproxy = startProcess({
    name,
    command: await toolPath('haproxy'),
    args: ['-db', '-f', config],
    logDir: options.tmpDir,
    netns: options.netns.name,
  });
  await waitForTcp({ netns: options.netns.name, address: options.address, port: 80 }, 'the load balancer');
  return haproxy;
}
