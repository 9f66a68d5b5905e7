/**
 * Everything outside the node, in one network namespace ("cloud") behind a veth:
 *
 *   cloud end of the veth   10.89.0.2   (the node's end: 10.89.0.1)
 *   load balancer           203.0.113.10  HAProxy with send-proxy, to the ingress Service's NodePorts
 *   ACME and public DNS     198.51.100.10 pebble, pebble-challtestsrv (DNS also on port 53)
 *
 * The node reaches the two public addresses through the veth (a /32 route each, gone with the
 * veth); the cloud reaches the node and its pods back through it. Nothing leaves the machine.
 */
import { createNetns, createVethPair, type Netns } from '../harness/index.js';
import { addPublicARecord, PEBBLE_PORTS, startPebble, type Pebble } from '../story/acme.js';
import { startLoadBalancer } from '../story/load-balancer.js';
import { runOk } from '../story/run.js';
import { NODE } from './cluster.js';

export const OUTSIDE = {
  nodeEnd: '10.89.0.1',
  cloudEnd: '10.89.0.2',
  loadBalancer: '203.0.113.10',
  acme: '198.51.100.10',
} as const;

export interface Outside {
  readonly netns: Netns;
  readonly pebble: Pebble;
  /** pebble's ACME directory, reachable from the node (and this process). */
  readonly directoryUrl: string;
  readonly rootsUrl: string;
  /** Publishes host → the load balancer in the public DNS. */
  publish(host: string): Promise<void>;
  /** Starts the load balancer in front of these NodePorts of the node. */
  startLoadBalancer(nodePorts: { http: number; https: number }, tmpDir: string): Promise<void>;
}

/** The cloud namespace, its routes and the ACME side. The resolv.conf the node gives CoreDNS names its DNS. */
export async function startOutside(tmpDir: string): Promise<Outside> {
  const netns = await createNetns('cloud');
  await createVethPair({ netns, address: `${OUTSIDE.cloudEnd}/24` }, { address: `${OUTSIDE.nodeEnd}/24` });
  for (const address of [OUTSIDE.loadBalancer, OUTSIDE.acme]) {
    await runOk('ip', ['-n', netns.name, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
    await runOk('ip', ['route', 'add', `${address}/32`, 'via', OUTSIDE.cloudEnd]);
  }
  await runOk('ip', ['-n', netns.name, 'route', 'add', `${NODE.podCidr}`, 'via', OUTSIDE.nodeEnd]);
  // resolv.conf cannot name a port: the public DNS answers on 53 too.
  for (const protocol of ['udp', 'tcp']) {
    await runOk('iptables', ['-w', '5', '-t', 'nat', '-A', 'PREROUTING', '-d', OUTSIDE.acme, '-p', protocol, '--dport', '53', '-j', 'DNAT', '--to-destination', `${OUTSIDE.acme}:${PEBBLE_PORTS.dns}`], { netns: netns.name });
  }
  // pebble validates HTTP-01 on port 80 of the address the public DNS gives: the load balancer.
  const pebble = await startPebble({ netns, tmpDir, address: OUTSIDE.acme, httpValidationPort: 80 });
  const management = `http://${OUTSIDE.acme}:${PEBBLE_PORTS.dnsManagement}`;
  return {
    netns,
    pebble,
    directoryUrl: `https://${OUTSIDE.acme}:${PEBBLE_PORTS.acme}/dir`,
    rootsUrl: `https://${OUTSIDE.acme}:${PEBBLE_PORTS.management}/roots/0`,
    publish: (host) => addPublicARecord(management, host, OUTSIDE.loadBalancer),
    async startLoadBalancer(nodePorts, dir) {
      await startLoadBalancer({ netns, tmpDir: dir, address: OUTSIDE.loadBalancer, backend: { address: NODE.ip, httpPort: nodePorts.http, httpsPort: nodePorts.https } });
    },
  };
}

/** The node's resolv.conf: the public DNS. CoreDNS (dnsPolicy Default) forwards there. */
export const NODE_RESOLV_CONF = `nameserver ${OUTSIDE.acme}\n`;
