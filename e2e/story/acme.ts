/**
 * The ACME side: pebble (Let's Encrypt's test CA) and pebble-challtestsrv (the internet's DNS) in
 * the internet namespace, and an order for the test host driven with acme-client the way
 * cert-manager drives one: create the order, present the key authorization, self-check, and only
 * then ask the CA to validate (which it does through the load balancer, from the internet).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import * as acme from 'acme-client';
import { startProcess, toolPath, type Netns } from '../harness/index.js';
import { selfSignedCertificate } from './certs.js';
import { waitForTcp } from './wait.js';

export const PEBBLE_PORTS = { acme: 14000, management: 15000, dns: 8053, dnsManagement: 8055 } as const;

export class AcmeError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`ACME ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AcmeError';
  }
}

export interface PebbleOptions {
  readonly netns: Netns;
  readonly tmpDir: string;
  /** The internet address pebble and challtestsrv listen on. */
  readonly address: string;
  /** Where pebble's HTTP-01 validation connects (the port of the address public DNS returns). */
  readonly httpValidationPort: number;
}

export interface Pebble {
  /** pebble's TLS certificate (PEM): what acme-client must trust. */
  readonly tlsCertificatePem: string;
}

/** Starts challtestsrv (DNS only) and pebble, whose validation asks challtestsrv for addresses. */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const { netns, tmpDir, address } = options;
  const tls = await selfSignedCertificate(tmpDir, 'pebble', [`IP:${address}`, 'IP:127.0.0.1', 'DNS:localhost']);
  startProcess({
    name: 'pebble-challtestsrv',
    command: await toolPath('pebble-challtestsrv'),
    args: [
      '-dns01', `${address}:${PEBBLE_PORTS.dns}`,
      '-management', `${address}:${PEBBLE_PORTS.dnsManagement}`,
      // Only the DNS server: the challenge servers would answer HTTP-01 themselves.
      '-http01', '', '-https01', '', '-tlsalpn01', '',
      // Names it was not told about have no address (its default answers 127.0.0.1).
      '-defaultIPv4', '', '-defaultIPv6', '',
    ],
    logDir: tmpDir,
    netns: netns.name,
  });
  const config = join(tmpDir, 'pebble-config.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `${address}:${PEBBLE_PORTS.acme}`,
        managementListenAddress: `${address}:${PEBBLE_PORTS.management}`,
        certificate: tls.certPath,
        privateKey: tls.keyPath,
        httpPort: options.httpValidationPort,
        tlsPort: 443,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  startProcess({
    name: 'pebble',
    command: await toolPath('pebble'),
    args: ['-config', config, '-dnsserver', `${address}:${PEBBLE_PORTS.dns}`],
    logDir: tmpDir,
    netns: netns.name,
    // Validate at once, and accept every good nonce: speed and determinism, not robustness tests.
    // ALWAYS_VALID=0 so that an inherited 1 cannot make pebble skip the validation this story is about.
    env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_VA_ALWAYS_VALID: '0' },
  });
  for (const port of [PEBBLE_PORTS.dns, PEBBLE_PORTS.dnsManagement, PEBBLE_PORTS.acme, PEBBLE_PORTS.management]) {
    await waitForTcp({ netns: netns.name, address, port }, 'pebble');
  }
  return { tlsCertificatePem: readFileSync(tls.certPath, 'utf8') };
}

/** challtestsrv's management API: the internet's DNS records. */
export async function addPublicARecord(managementUrl: string, host: string, address: string): Promise<void> {
  const response = await fetch(`${managementUrl}/add-a`, { method: 'POST', body: JSON.stringify({ host, addresses: [address] }) });
  if (!response.ok) throw new AcmeError('add-a', `${managementUrl}/add-a answered ${response.status}: ${await response.text()}`);
}

type HttpChallenge = Extract<acme.Authorization['challenges'][number], { type: 'http-01' }>;

export interface IssuedCertificate {
  readonly pem: string;
  readonly subjectAltNames: string;
  readonly issuer: string;
  readonly validTo: string;
  /** The chain verified signature by signature up to pebble's root (from its management API). */
  readonly chainVerified: boolean;
}

/** One HTTP-01 order for one host, from creation to certificate. */
export class AcmeOrder {
  private constructor(
    private readonly client: acme.Client,
    private readonly order: acme.Order,
    private readonly challenge: HttpChallenge,
    readonly host: string,
    readonly keyAuthorization: string,
  ) {}

  get token(): string {
    return this.challenge.token;
  }

  /**
   * Registers an account and creates the order. acme-client's axios instance is its own, so the
   * CA trust and the proxy bypass set here affect acme-client and nothing else in the process.
   */
  static async create(directoryUrl: string, pebbleTlsCertificatePem: string, host: string): Promise<AcmeOrder> {
    acme.axios.defaults.httpsAgent = new Agent({ ca: pebbleTlsCertificatePem });
    acme.axios.defaults.proxy = false;
    // Poll quickly: pebble without sleep validates within milliseconds.
    const client = new acme.Client({ directoryUrl, accountKey: await acme.crypto.createPrivateKey(), backoffMin: 200, backoffMax: 1_000, backoffAttempts: 30 });
    try {
      await client.createAccount({ termsOfServiceAgreed: true });
      const order = await client.createOrder({ identifiers: [{ type: 'dns', value: host }] });
      const [authorization] = await client.getAuthorizations(order);
      const challenge = authorization?.challenges.find((c): c is HttpChallenge => c.type === 'http-01');
      if (!challenge) throw new Error(`no http-01 challenge for ${host}: ${JSON.stringify(authorization)}`);
      return new AcmeOrder(client, order, challenge, host, await client.getChallengeKeyAuthorization(challenge));
    } catch (error) {
      throw new AcmeError(`order for ${host}`, error);
    }
  }

  /** The order's status at the CA: pending until its challenge is validated, valid once issued. */
  async status(): Promise<string> {
    try {
      return (await this.client.getOrder(this.order)).status;
    } catch (error) {
      throw new AcmeError(`status of ${this.order.url}`, error);
    }
  }

  /** Tells the CA the challenge is ready; it validates over the internet. Resolves once valid. */
  async validate(): Promise<void> {
    try {
      await this.client.completeChallenge(this.challenge);
      await this.client.waitForValidStatus(this.challenge);
    } catch (error) {
      throw new AcmeError(`validation of ${this.challenge.url}`, error);
    }
  }

  /** Finalizes with a fresh key and CSR and downloads the certificate chain. */
  async certificate(rootsUrl: string): Promise<IssuedCertificate> {
    try {
      const [, csr] = await acme.crypto.createCsr({ commonName: this.host, altNames: [this.host] });
      const finalized = await this.client.finalizeOrder(this.order, csr);
      const pem = await this.client.getCertificate(finalized);
      const root = (await acme.axios.get<string>(rootsUrl, { responseType: 'text' })).data;
      return describeCertificate(pem, root);
    } catch (error) {
      throw new AcmeError(`certificate for ${this.host}`, error);
    }
  }
}

function describeCertificate(chainPem: string, rootPem: string): IssuedCertificate {
  const chain = (chainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
  const [leaf] = chain;
  if (!leaf) throw new Error(`no certificate in ${JSON.stringify(chainPem.slice(0, 200))}`);
  const links = [...chain, new X509Certificate(rootPem)];
  const chainVerified = links.slice(0, -1).every((cert, i) => {
    const issuer = links[i + 1];
    return issuer !== undefined && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  });
  return { pem: chainPem, subjectAltNames: leaf.subjectAltName ?? '', issuer: leaf.issuer.replaceAll('\n', ', '), validTo: leaf.validTo, chainVerified };
}
