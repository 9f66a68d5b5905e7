/**
 * TCP wires between the root namespace and the story's namespaces: one HAProxy process in the
 * root namespace whose `bind` and `server` lines name the namespace they live in (HAProxy's
 * `namespace` keyword, built in as USE_NS on Debian). A relay is needed wherever a process that
 * must stay in the root namespace meets the cluster network:
 *  - CoreDNS stays on root loopback because its `kubernetes` plugin needs the local
 *    kube-apiserver, which listens there; pods reach it at the kube-dns ClusterIP through a wire.
 *  - acme-client runs in this Node process (root) and reaches pebble in the internet namespace.
 *  - the controller reaches the hairpin pod's Data Plane API (hairpin-dataplane.ts).
 * A veth into the root namespace would do the same with routes and addresses on the machine's own
 * network; a relay touches nothing but loopback. It carries TCP only: hence `use-vc` in the pod's
 * resolv.conf and `force_tcp` on CoreDNS's upstream.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, toolPath, type ManagedProcess } from '../harness/index.js';
import { waitForTcp } from './wait.js';

export interface Endpoint {
  /** A namespace name; the root namespace when absent. */
  readonly netns?: string;
  readonly address: string;
  readonly port: number;
}

export interface Wire {
  /** A short identifier (HAProxy section names): [a-z0-9-]. */
  readonly name: string;
  readonly listen: Endpoint;
  readonly target: Endpoint;
}

const inNamespace = (endpoint: Endpoint) => (endpoint.netns ? ` namespace ${endpoint.netns}` : '');

export function relayConfig(wires: readonly Wire[]): string {
  const sections = wires.map(
    ({ name, listen, target }) => `
listen ${name}
    bind ${listen.address}:${listen.port}${inNamespace(listen)}
    server ${name} ${target.address}:${target.port}${inNamespace(target)}`,
  );
  return `global
    log stderr format short local0 notice
defaults
    mode tcp
    log global
    timeout connect 5s
    timeout client 60s
    timeout server 60s
${sections.join('\n')}
`;
}

/** `name` tells relays apart (process, log and config file) where one must start before another. */
export async function startRelay(tmpDir: string, wires: readonly Wire[], name = 'relay'): Promise<ManagedProcess> {
  const config = join(tmpDir, `${name}.cfg`);
  writeFileSync(config, relayConfig(wires));
  const relay = startProcess({ name, command: await toolPath('haproxy'), args: ['-db', '-f', config], logDir: tmpDir });
  for (const { name, listen } of wires) await waitForTcp(listen, `relay ${name}`);
  return relay;
}
