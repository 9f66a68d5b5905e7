/**
 * The hairpin HAProxy: what the hairpin-proxy-haproxy Service's pod runs. It receives the
 * in-cluster traffic that CoreDNS now sends to the Service and forwards it to the ingress
 * controller with the PROXY header the controller requires.
 *
 * For now a static configuration; later the controller configures it through the HAProxy Data
 * Plane API, and only this function changes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, toolPath, type ManagedProcess, type Netns } from '../harness/index.js';
import type { Backend } from './load-balancer.js';
import { waitForTcp } from './wait.js';

export interface HairpinHaproxyOptions {
  readonly netns: Netns;
  readonly tmpDir: string;
  /** The pod address it listens on (the Service's endpoint). */
  readonly address: string;
  readonly ingressController: Backend;
}

export function hairpinHaproxyConfig(options: { address: string; ingressController: Backend }): string {
  const { address, ingressController: ingress } = options;
  return `# hairpin-proxy's HAProxy: in-cluster clients in, PROXY header added, ingress controller out.
global
    log stderr format short local0 notice
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend http
    bind ${address}:80
    default_backend ingress-http

frontend https
    bind ${address}:443
    default_backend ingress-https

backend ingress-http
    server ingress ${ingress.address}:${ingress.httpPort} send-proxy

backend ingress-https
    server ingress ${ingress.address}:${ingress.httpsPort} send-proxy
`;
}

export async function startHairpinHaproxy(options: HairpinHaproxyOptions): Promise<ManagedProcess> {
  const config = join(options.tmpDir, 'hairpin-haproxy.cfg');
  writeFileSync(config, hairpinHaproxyConfig(options));
  const haproxy = startProcess({
    name: 'hairpin-haproxy',
    command: await toolPath('haproxy'),
    args: ['-db', '-f', config],
    logDir: options.tmpDir,
    netns: options.netns.name,
  });
  await waitForTcp({ netns: options.netns.name, address: options.address, port: 80 }, 'the hairpin HAProxy');
  return haproxy;
}
