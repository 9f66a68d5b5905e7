/**
 * The world outside the kind cluster, as containers on kind's Docker network (testcontainers):
 * - the cloud load balancer: HAProxy forwarding to ingress-nginx's LoadBalancer IP with
 *   `send-proxy`, as a cloud LB in front of a PROXY-protocol ingress controller does;
 * - the internet's DNS: pebble-challtestsrv, answering every A query with that load balancer;
 * - the ACME CA: pebble, whose HTTP-01 validation asks that DNS, so it comes in through the LB.
 * Each container is stopped by cleanupAll(); outsideLogs() is for failure output.
 */
import { readFileSync } from 'node:fs';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { proxyProtocolForwarderConfig, registerCleanup } from '../harness/index.js';
import { selfSignedCertificate } from '../story/certs.js';
import { exec } from './cluster.js';

export const IMAGES = {
  // The official image's 2.6 branch at its newest release (docker-library/haproxy versions.json:
  // "2.6" -> 2.6.31), the HAProxy line the local story runs (Debian bookworm's 2.6).
  haproxy: 'haproxy:2.6.31',
  // pebble v2.10.1 (2026-04-20); its release workflow tags images with the bare version.
  pebble: 'ghcr.io/letsencrypt/pebble:2.10.1',
  challtestsrv: 'ghcr.io/letsencrypt/pebble-challtestsrv:2.10.1',
} as const;

/** The Docker network `kind create cluster` puts its nodes on. */
const NETWORK = 'kind';
/** pebble's name in its TLS certificate; the cluster's DNS answers it (KindCluster.addDnsRecords). */
export const PEBBLE_HOST = 'pebble.e2e.test';
export const PEBBLE_ACME_PORT = 14000;
const CHALLTESTSRV_DNS_PORT = 8053;

/** `docker pull` of the three images (before any start, so that starting pulls nothing). */
const PULL_MS = 5 * 60_000;
/** A container's start: testcontainers' startup timeout (its wait strategy)... */
const STARTUP_MS = 180_000;
/** ...and an allowance for creating and starting it, which Docker's API calls bound, not ours. */
const CREATE_MS = 30_000;
/** Each `docker logs` of outsideLogs(). */
const LOGS_MS = 20_000;

/** Worst cases, for the suite's jest timeouts (budget.ts): the pulls, then three starts, one after the other. */
export const OUTSIDE_MS = PULL_MS + Object.keys(IMAGES).length * (STARTUP_MS + CREATE_MS);
export const OUTSIDE_LOGS_MS = Object.keys(IMAGES).length * LOGS_MS;

/**
 * Pulls the three images, side by side, each bounded: testcontainers' own pull (inside start())
 * has no bound, and the images are then present, so start() pulls nothing.
 */
export async function pullOutsideImages(): Promise<void> {
  await Promise.all(Object.values(IMAGES).map((image) => exec('docker', ['pull', '--quiet', image], { timeoutMs: PULL_MS })));
}

export interface Started {
  readonly ip: string;
}

const started: Array<{ readonly name: string; readonly container: StartedTestContainer }> = [];

async function start(name: string, container: GenericContainer): Promise<string> {
  const running = await container.withNetworkMode(NETWORK).withStartupTimeout(STARTUP_MS).start();
  started.push({ name, container: running });
  registerCleanup(`stop the ${name} container`, async () => {
    await running.stop();
  });
  return running.getIpAddress(NETWORK);
}

/** HAProxy's configuration: ports 80 and 443 to the same ports of target, with a PROXY v1 line. */
export function loadBalancerConfig(target: string): string {
  return proxyProtocolForwarderConfig({
    comment: 'The cloud load balancer in front of ingress-nginx: proxy protocol on.',
    bindAddress: '',
    backendAddress: target,
    ports: [80, 443].map((port) => ({ name: `port_${port}`, port, backendPort: port })),
    log: 'stdout format raw',
  });
}

/** The cloud load balancer in front of ingressIp. Root only to bind ports 80 and 443. */
export async function startCloudLoadBalancer(ingressIp: string): Promise<Started> {
  const ip = await start(
    'cloud load balancer (HAProxy)',
    new GenericContainer(IMAGES.haproxy)
      .withUser('root')
      .withCopyContentToContainer([{ content: loadBalancerConfig(ingressIp), target: '/usr/local/etc/haproxy/haproxy.cfg' }])
      .withWaitStrategy(Wait.forLogMessage('Loading success.')),
  );
  return { ip };
}

/** pebble-challtestsrv as a DNS server only, answering every A query with address (no AAAA). */
export async function startPublicDns(address: string): Promise<Started> {
  const ip = await start(
    'public DNS (pebble-challtestsrv)',
    new GenericContainer(IMAGES.challtestsrv)
      .withCommand(['-defaultIPv4', address, '-defaultIPv6', '', '-http01', '', '-https01', '', '-tlsalpn01', '', '-doh', ''])
      .withWaitStrategy(Wait.forLogMessage('Starting management server')),
  );
  return { ip };
}

export interface Pebble extends Started {
  /** pebble's TLS certificate (self-signed, for PEBBLE_HOST): the ClusterIssuer's caBundle. */
  readonly tlsCertificatePem: string;
}

/**
 * pebble, validating HTTP-01 on port 80 of whatever dnsIp's DNS answers. No validation delay and
 * no random nonce rejections; PEBBLE_VA_ALWAYS_VALID=0 so that validation really happens.
 */
export async function startPebble(dnsIp: string, tmpDir: string): Promise<Pebble> {
  const tls = await selfSignedCertificate(tmpDir, 'pebble', [`DNS:${PEBBLE_HOST}`]);
  const config = {
    pebble: {
      listenAddress: `0.0.0.0:${PEBBLE_ACME_PORT}`,
      managementListenAddress: '0.0.0.0:15000',
      certificate: '/e2e/pebble.crt',
      privateKey: '/e2e/pebble.key',
      httpPort: 80,
      tlsPort: 443,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  };
  const ip = await start(
    'ACME CA (pebble)',
    new GenericContainer(IMAGES.pebble)
      .withCopyContentToContainer([{ content: JSON.stringify(config), target: '/e2e/pebble-config.json' }])
      .withCopyFilesToContainer([
        { source: tls.certPath, target: '/e2e/pebble.crt' },
        { source: tls.keyPath, target: '/e2e/pebble.key' },
      ])
      .withCommand(['-config', '/e2e/pebble-config.json', '-dnsserver', `${dnsIp}:${CHALLTESTSRV_DNS_PORT}`])
      .withEnvironment({ PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_VA_ALWAYS_VALID: '0' })
      .withWaitStrategy(Wait.forLogMessage('ACME directory available at')),
  );
  return { ip, tlsCertificatePem: readFileSync(tls.certPath, 'utf8') };
}

/** The last lines of every outside container's output, for failure messages. */
export async function outsideLogs(lines = 60): Promise<string> {
  const out: string[] = [];
  for (const { name, container } of started) {
    const text = await exec('sh', ['-c', `docker logs --tail ${lines} "$1" 2>&1`, 'sh', container.getId()], { timeoutMs: LOGS_MS }).catch((error: unknown) => `(failed: ${String(error)})`);
    out.push(`----- ${name} (${container.getId().slice(0, 12)}) -----\n${text.trimEnd()}`);
  }
  return out.join('\n');
}
