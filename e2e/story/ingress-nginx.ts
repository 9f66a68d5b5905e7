/**
 * The ingress controller: a real nginx configured the way ingress-nginx renders an Ingress with
 * `use-proxy-protocol: "true"`. Every listener requires a PROXY header, so a bare connection (the
 * kube-proxy short-circuit) is closed without a response. For the test host it serves
 * /.well-known/acme-challenge/<token>, which in a cluster is the path cert-manager's solver
 * Ingress routes to its acmesolver pod; here present() writes the answer into nginx's root.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, testNginxConfig, toolPath, type ManagedProcess, type Netns } from '../harness/index.js';
import { selfSignedCertificate, type KeyPair } from './certs.js';
import { waitForTcp } from './wait.js';

export interface IngressNginxOptions {
  readonly netns: Netns;
  readonly tmpDir: string;
  readonly address: string;
  readonly host: string;
  /** For the process and its directory when there are several (default ingress-nginx). */
  readonly name?: string;
}

export interface IngressNginx {
  readonly process: ManagedProcess;
  readonly address: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Serves keyAuthorization at http://<host>/.well-known/acme-challenge/<token>. */
  present(token: string, keyAuthorization: string): void;
  /** The last line of nginx's output (access and error log) matching pattern. */
  lastLogLine(pattern: RegExp): string | undefined;
}

export const INGRESS_HTTP_PORT = 80;
export const INGRESS_HTTPS_PORT = 443;
/** What the test host's application answers on `/`. */
export const APP_BODY = 'hello from the app behind the Ingress\n';

/**
 * The http-level part of the configuration: every listener requires the PROXY header, a default
 * backend, and the host's server with cert-manager's solver path served from challengeRoot.
 */
export function ingressServers(options: { address: string; host: string; challengeRoot: string; certificate: KeyPair }): string {
  const { address, host, challengeRoot, certificate } = options;
  const listen = [`listen ${address}:${INGRESS_HTTP_PORT} proxy_protocol`, `listen ${address}:${INGRESS_HTTPS_PORT} ssl proxy_protocol`];
  return `    # As ingress-nginx does with use-proxy-protocol: the client address comes from the PROXY header.
    real_ip_header proxy_protocol;
    set_real_ip_from 0.0.0.0/0;
    log_format proxied 'client=$proxy_protocol_addr peer=$realip_remote_addr host=$host "$request" $status';
    access_log /dev/stdout proxied;
    ssl_certificate ${certificate.certPath};
    ssl_certificate_key ${certificate.keyPath};

    # The default backend: hosts no Ingress names.
    server {
        ${listen.map((l) => `${l} default_server;`).join('\n        ')}
        server_name _;
        return 404 "default backend - 404\\n";
    }

    server {
        ${listen.map((l) => `${l};`).join('\n        ')}
        server_name ${host};
        location /.well-known/acme-challenge/ {
            root ${challengeRoot};
            default_type text/plain;
        }
        location / {
            default_type text/plain;
            return 200 ${JSON.stringify(APP_BODY)};
        }
    }`;
}

export function nginxConfig(options: { dir: string; address: string; host: string; defaultCertificate: KeyPair }): string {
  const { dir, address, host, defaultCertificate } = options;
  return testNginxConfig(
    dir,
    ingressServers({ address, host, challengeRoot: join(dir, 'www'), certificate: defaultCertificate }),
    `# ingress-nginx with use-proxy-protocol: "true", reduced to one Ingress and cert-manager's solver path.\n`,
  );
}

export async function startIngressNginx(options: IngressNginxOptions): Promise<IngressNginx> {
  const name = options.name ?? 'ingress-nginx';
  const dir = join(options.tmpDir, name);
  const challengeDir = join(dir, 'www', '.well-known', 'acme-challenge');
  mkdirSync(challengeDir, { recursive: true });
  // ingress-nginx's "Kubernetes Ingress Controller Fake Certificate" for hosts without a secret.
  const defaultCertificate = await selfSignedCertificate(dir, 'ingress-fake-certificate', [`DNS:${options.host}`]);
  const config = join(dir, 'nginx.conf');
  writeFileSync(config, nginxConfig({ dir, address: options.address, host: options.host, defaultCertificate }));
  const nginx = startProcess({
    name,
    command: await toolPath('nginx'),
    args: ['-e', 'stderr', '-p', dir, '-c', config],
    logDir: options.tmpDir,
    netns: options.netns.name,
  });
  for (const port of [INGRESS_HTTP_PORT, INGRESS_HTTPS_PORT]) {
    await waitForTcp({ netns: options.netns.name, address: options.address, port }, name);
  }
  return {
    process: nginx,
    address: options.address,
    httpPort: INGRESS_HTTP_PORT,
    httpsPort: INGRESS_HTTPS_PORT,
    present(token, keyAuthorization) {
      if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error(`not an ACME token: ${JSON.stringify(token)}`);
      writeFileSync(join(challengeDir, token), keyAuthorization);
    },
    lastLogLine(pattern) {
      return readFileSync(nginx.logPath, 'utf8').split('\n').findLast((line) => pattern.test(line));
    },
  };
}
