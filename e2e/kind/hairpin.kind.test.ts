/**
 * The hairpin story on a real Kubernetes cluster (kind, one node): ingress-nginx requires the PROXY
 * protocol; outside the cluster a cloud load balancer (HAProxy, send-proxy) forwards to its
 * LoadBalancer IP (MetalLB) and pebble is the ACME CA; inside, cert-manager asks for a certificate.
 * - Without hairpin-proxy, cert-manager's HTTP-01 self-check dials the LoadBalancer IP, kube-proxy
 *   short-circuits it straight to nginx without the PROXY line, nginx closes it: EOF, and the
 *   Certificate is never Ready.
 * - With the controller (deploy/base, the image built from the Dockerfile), the Corefile routes the
 *   host to the hairpin HAProxy, which the controller configured, and the Certificate turns Ready.
 * Needs a Docker engine; without one the suite is skipped, saying why (HAIRPIN_REQUIRE_DOCKER=1
 * fails instead; HAIRPIN_SKIP_KIND=1 skips it even with one). It runs in GitHub Actions, job
 * kind-e2e, once per Kubernetes minor (HAIRPIN_KIND_NODE_IMAGE_PIN: KIND_NODE_IMAGE or
 * KIND_NODE_IMAGE_NEWEST of hack/versions.env). See e2e/README.md.
 *
 * On a failure: HAIRPIN_KIND_LOGS_DIR=DIR keeps the evidence there before the cluster goes
 * (`kind export logs`, the outside containers' logs), and KEEP_CLUSTER_ON_FAILURE=1 leaves the
 * cluster running for a later `kind export logs` (CI sets both). Every timeout is a sum of the
 * bounded waits it contains (budget.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { blockMentions, cleanupAll, makeTmpDir, markerBlock, REPO_ROOT, sleep, waitFor } from '../harness/index.js';
import { installCertManager, installIngressNginx, installMetalLb } from './addons.js';
import { TIMEOUTS, UNINSTALL_DELETE_MS, WAITS, WITHOUT_CONTROLLER_MS } from './budget.js';
import { BOUNDS, buildImage, dockerEngine, KindCluster, nodeImage } from './cluster.js';
import { outsideLogs, PEBBLE_ACME_PORT, PEBBLE_HOST, pullOutsideImages, startCloudLoadBalancer, startPebble, startPublicDns } from './outside.js';

const HOST = 'shop.example.test';
const APP_NAMESPACE = 'shop';
const IMAGE = 'hairpin-proxy:kind-e2e';
/** The hairpin HAProxy pods (deploy/base/haproxy.yaml). */
const HAPROXY_PODS = 'app.kubernetes.io/name=hairpin-proxy-haproxy';

// HAIRPIN_SKIP_KIND=1 (CI's `test` job, whose runner has Docker too) leaves it to the kind-e2e job.
const optedOut = process.env.HAIRPIN_SKIP_KIND === '1';
const engine = optedOut ? { ok: false, reason: 'not asked: HAIRPIN_SKIP_KIND=1' } : await dockerEngine();
const requireDocker = process.env.HAIRPIN_REQUIRE_DOCKER === '1' && !optedOut;
const skipped = optedOut
  ? 'kind e2e skipped: HAIRPIN_SKIP_KIND=1; it runs in GitHub Actions, job kind-e2e'
  : `kind e2e skipped: no Docker engine (${engine.reason}); it runs in GitHub Actions, job kind-e2e`;
if (!engine.ok && !requireDocker) console.warn(skipped);

let cluster: KindCluster;
/** The Corefile just before hairpin-proxy was installed, and the overlay it was installed from. */
let corefileBefore: string;
let overlay: string;

/** The hook and tests that ran to their end; afterAll treats any other as failed (even one jest abandoned). */
const finished = new Set<string>();
const STEPS = ['beforeAll', 'without', 'with', 'uninstall'] as const;

/**
 * A test body whose failure message ends with the cluster's and the outside containers' state.
 * The error may come from another realm (jest runs tests in a VM context), where `instanceof
 * Error` is false for a real Error: its fields decide.
 */
function explained(step: (typeof STEPS)[number], fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
      finished.add(step);
    } catch (error) {
      const state = (cluster as KindCluster | undefined) ? await cluster.diagnostics() : '(no kind cluster yet)';
      const report = `\n\n${state}\n${await outsideLogs()}`;
      if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
        error.message += report;
        throw error;
      }
      throw new Error(`${String(error)}${report}`);
    }
  };
}

/**
 * After a failure, before cleanupAll() deletes anything: `kind export logs` and the outside
 * containers' logs into HAIRPIN_KIND_LOGS_DIR, and with KEEP_CLUSTER_ON_FAILURE=1 the cluster is
 * left running for a later `kind export logs` (CI's failure step).
 */
async function keepEvidence(): Promise<void> {
  if (!(cluster as KindCluster | undefined)) return;
  if (process.env.KEEP_CLUSTER_ON_FAILURE === '1') cluster.keep();
  const dir = process.env.HAIRPIN_KIND_LOGS_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${cluster.name}-outside-containers.log`), await outsideLogs(500));
  await cluster.exportLogs(join(dir, cluster.name)).catch((error: unknown) => console.warn(`kind export logs failed: ${String(error)}`));
  console.warn(`kind e2e: a step failed; logs kept in ${dir}`);
}

/** The ACME issuer: pebble, trusted through caBundle, HTTP-01 through ingress-nginx. */
function pebbleIssuer(tlsCertificatePem: string): object {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    metadata: { name: 'pebble' },
    spec: {
      acme: {
        server: `https://${PEBBLE_HOST}:${PEBBLE_ACME_PORT}/dir`,
        caBundle: Buffer.from(tlsCertificatePem).toString('base64'),
        privateKeySecretRef: { name: 'pebble-account-key' },
        solvers: [{ http01: { ingress: { ingressClassName: 'nginx' } } }],
      },
    },
  };
}

async function certificateReady(): Promise<boolean> {
  const certificate = await cluster.getJson<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(['-n', APP_NAMESPACE, 'get', 'certificate', 'shop']);
  return certificate.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The reasons of the Certificate's Challenges, e.g. "Waiting for HTTP-01 challenge propagation: …". */
async function challengeReasons(): Promise<string> {
  const list = await cluster.getJson<{ items: Array<{ status?: { reason?: string } }> }>(['-n', APP_NAMESPACE, 'get', 'challenges.acme.cert-manager.io']);
  return list.items.map((c) => c.status?.reason ?? '').join('\n');
}

/**
 * deploy/base as the README installs it, in one step, through an overlay that swaps in the image
 * built here and starts the controller at 0 replicas: nothing touches the Corefile until the test
 * scales the controller up (and the HAProxy pods wait for the Secret the controller creates).
 * Returns the overlay, which the uninstall test deletes whole.
 */
async function installHairpinProxy(tmpDir: string): Promise<string> {
  const overlay = join(tmpDir, 'overlay');
  mkdirSync(overlay);
  const [name, tag] = IMAGE.split(':');
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [relative(overlay, join(REPO_ROOT, 'deploy/base'))],
    images: [{ name: 'ghcr.io/hairpin-proxy/hairpin-proxy', newName: name, newTag: tag }],
    replicas: [{ name: 'hairpin-proxy', count: 0 }],
  };
  writeFileSync(join(overlay, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
  await cluster.kubectl(['apply', '-k', overlay]);
  return overlay;
}

if (!engine.ok && requireDocker) {
  it('kind e2e: a Docker engine is required (HAIRPIN_REQUIRE_DOCKER=1)', () => {
    throw new Error(`no Docker engine (${engine.reason}); HAIRPIN_REQUIRE_DOCKER=1 makes the kind e2e fail instead of skipping`);
  });
} else {
  const describeWithDocker = engine.ok ? describe : describe.skip;
  describeWithDocker(engine.ok ? `the hairpin story on kind, ${nodeImage().split('@')[0]} (Docker: ${engine.reason})` : skipped, () => {
    beforeAll(
      explained('beforeAll', async () => {
        const tmpDir = makeTmpDir('kind');
        [cluster] = await Promise.all([KindCluster.create(`hairpin-${process.pid}`, tmpDir), buildImage(IMAGE), pullOutsideImages()]);
        await cluster.loadImage(IMAGE);
        const [ingress] = await Promise.all([installIngressNginx(cluster), installMetalLb(cluster), installCertManager(cluster)]);
        // MetalLB does not set ipMode; the apiserver defaults it to VIP (KEP-1860): kube-proxy
        // short-circuits the IP, the bug is there.
        expect(ingress.ipMode).toBe('VIP');

        const loadBalancer = await startCloudLoadBalancer(ingress.ip);
        const publicDns = await startPublicDns(loadBalancer.ip);
        const pebble = await startPebble(publicDns.ip, tmpDir);
        // Inside the cluster, the host resolves to the LoadBalancer IP, as its public DNS record
        // would (the IP kube-proxy short-circuits); pebble's name resolves to its container.
        await cluster.addDnsRecords({ [HOST]: ingress.ip, [PEBBLE_HOST]: pebble.ip });

        corefileBefore = await cluster.corefile();
        overlay = await installHairpinProxy(tmpDir);
        const issuer = [pebbleIssuer(pebble.tlsCertificatePem), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NAMESPACE } }];
        await waitFor(() => cluster.apply(issuer).then(() => true), { ...WAITS.issuerAccepted, what: "cert-manager's webhook to accept the ClusterIssuer" });
        // Ready = an ACME account registered with pebble, through the cluster's DNS.
        await cluster.kubectl(['wait', 'clusterissuer/pebble', '--for=condition=Ready', '--timeout=180s'], { timeoutMs: BOUNDS.shortRollout });
      }),
      TIMEOUTS.beforeAll,
    );
    afterAll(async () => {
      if (STEPS.some((step) => !finished.has(step))) await keepEvidence();
      await cleanupAll();
    }, TIMEOUTS.afterAll);

    it(
      'without hairpin-proxy: the self-check gets EOF from the LoadBalancer IP and the Certificate is never Ready',
      explained('without', async () => {
        expect(markerBlock(await cluster.corefile())).toBe('');
        await cluster.apply([
          {
            apiVersion: 'cert-manager.io/v1',
            kind: 'Certificate',
            metadata: { name: 'shop', namespace: APP_NAMESPACE },
            spec: { secretName: 'shop-tls', dnsNames: [HOST], issuerRef: { kind: 'ClusterIssuer', name: 'pebble' } },
          },
        ]);
        const created = Date.now();
        const reasons = await waitFor(
          async () => {
            const text = await challengeReasons();
            return text.includes('EOF') ? text : undefined;
          },
          { ...WAITS.challengeEof, what: `a Challenge for ${HOST} reporting the self-check's EOF` },
        );
        expect(reasons).toMatch(/Waiting for HTTP-01 challenge propagation: .*EOF/);
        // The self-check keeps failing, so cert-manager never even asks pebble to validate.
        do {
          expect(await certificateReady()).toBe(false);
          await sleep(WAITS.notReadyPollMs);
        } while (Date.now() - created < WITHOUT_CONTROLLER_MS);
      }),
      TIMEOUTS.withoutController,
    );

    it(
      'with hairpin-proxy: the controller configures HAProxy, the Corefile routes the host, the Certificate becomes Ready',
      explained('with', async () => {
        await cluster.kubectl(['-n', 'hairpin-proxy', 'scale', 'deployment/hairpin-proxy', '--replicas=1']);
        const started = Date.now();
        // A hairpin HAProxy replica turns Ready once it listens on :80, i.e. once the controller
        // has configured it through its Data Plane API. Its pods, not the Deployment's rollout:
        // the Deployment was applied at install time, and its 600 s progress deadline may have
        // passed before the controller started (`rollout status` then fails at once).
        await cluster.kubectl(['-n', 'hairpin-proxy', 'wait', '--for=condition=Ready', 'pod', '-l', HAPROXY_PODS, '--timeout=180s'], { timeoutMs: BOUNDS.shortRollout });
        const block = await waitFor(
          async () => {
            const text = markerBlock(await cluster.corefile());
            return blockMentions(text, HOST) ? text : undefined;
          },
          { ...WAITS.corefileBlock, what: `the Corefile's hairpin-proxy block to route ${HOST}` },
        );
        expect(block).toContain('hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local.');
        await waitFor(() => certificateReady(), { ...WAITS.certificateReady, what: `Certificate ${APP_NAMESPACE}/shop to become Ready` });
        const secret = await cluster.getJson<{ data: Record<string, string> }>(['-n', APP_NAMESPACE, 'get', 'secret', 'shop-tls']);
        const certificate = new X509Certificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64'));
        expect(certificate.subjectAltName).toBe(`DNS:${HOST}`);
        console.log(`kind e2e: certificate for ${HOST} Ready ${Math.round((Date.now() - started) / 1000)} s after the controller was scaled up`);
      }),
      TIMEOUTS.withController,
    );

    it(
      'uninstalled with `kubectl delete` of the whole install: the Corefile is byte for byte as before, and the cleanup identity is gone',
      explained('uninstall', async () => {
        await cluster.kubectl(['delete', '-k', overlay, '--wait=true', `--timeout=${UNINSTALL_DELETE_MS / 1000}s`], { timeoutMs: UNINSTALL_DELETE_MS + BOUNDS.kubectl });
        expect(await cluster.corefile()).toBe(corefileBefore);
        await waitFor(
          async () => ((await cluster.kubectl(['-n', 'kube-system', 'get', 'serviceaccount,role,rolebinding', '-l', 'hairpin-proxy.io/role=removal-cleanup', '-o', 'name'])).trim() === '' ? true : undefined),
          { ...WAITS.cleanupGone, what: 'the cleanup identity to be garbage-collected' },
        );
      }),
      TIMEOUTS.uninstall,
    );
  });
}
