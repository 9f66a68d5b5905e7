import type { Server } from 'node:http';
import { loggableConfig, type Config, type HaproxyConfig } from './config.js';
import { CorednsCustomSink } from './coredns/custom-sink.js';
import { NodeLocalDnsSink } from './coredns/nodelocal-sink.js';
import { CorednsSink } from './coredns/sink.js';
import { DataPlaneClient } from './haproxy/dataplane/client.js';
import { DEFAULT_HAPROXY_POLICY } from './haproxy/desired.js';
import { ReplicaPool } from './haproxy/replica-pool.js';
import { discoveredReplicas, fixedReplicas } from './haproxy/replicas.js';
import { HaproxySink } from './haproxy/sink.js';
import { startHealthServer } from './health.js';
import { apiserverOf, loadKubeConfig, makeApis } from './kube/client.js';
import { KubeConfigMapStore } from './kube/configmaps.js';
import { DnsEndpointsSink } from './kube/dns-endpoints.js';
import { logIgnoredRoutes } from './kube/gateway-api.js';
import { HairpinServicesSink } from './kube/hairpin-services.js';
import { AggregatingEventRecorder, KubeEventWriter } from './kube/events.js';
import { waitForSync } from './kube/informer.js';
import { LeaderElector, leaseTimings } from './kube/leader.js';
import { KubeLeaseStore } from './kube/leases.js';
import { watchCluster, type ClusterWatches } from './kube/watches.js';
import type { Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { routePolicyOf } from './plan/routes.js';
import { upstreamRefs } from './plan/upstreams.js';
import { backoffDelay } from './queue/index.js';
import { COREDNS_KEY, Controller, type HaproxyDeps } from './reconcile/controller.js';
import { INFORMER_RESTART, retryClassOf, SYNC_RETRY } from './reconcile/retry.js';
import { Runner } from './reconcile/runner.js';

/** `--once` is run by Jobs and CI steps: an apiserver that cannot be listed must end it, not hang it. */
const ONCE_CACHE_SYNC_TIMEOUT_MS = 30_000;
const LEASE_NAME = 'hairpin-proxy';

/** Wiring only: config → clients → informers → controller → runner → servers. Returns the exit code. */
export async function runController(config: Config, log: Logger, stop: AbortSignal): Promise<number> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const apis = makeApis(kubeConfig);
  const metrics = createMetrics();
  const events = new AggregatingEventRecorder(new KubeEventWriter(apis.core), log);
  const hairpinService = { namespace: config.targetNamespace, name: config.targetService };
  const policy = routePolicyOf(config);
  const watches = watchCluster(
    kubeConfig,
    apis,
    {
      coredns: { namespace: config.corednsNamespace, name: config.corednsConfigMap },
      upstreams: upstreamRefs(policy.mode),
      ...(config.haproxy ? { haproxy: { hairpinService } } : {}),
      ...(config.corednsMode === 'external-dns' ? { hairpinNamespace: config.targetNamespace } : {}),
      ...(policy.mode.kind === 'targets' ? { gatewayApi: { recheckMs: config.gatewayApiRecheckMs } } : {}),
    },
    { log, restartDelayMs: (attempt) => backoffDelay(attempt, INFORMER_RESTART, Math.random) },
  );
  const controller = new Controller({
    snapshot: watches.snapshot,
    policy,
    coredns: new CorednsSink(new KubeConfigMapStore(apis.core, config.corednsNamespace, config.corednsConfigMap), config.corednsKey),
    dnsMode: config.corednsMode,
    custom: new CorednsCustomSink(apis.core, config.corednsNamespace, config.corednsCustomConfigMap),
    dnsEndpoints: new DnsEndpointsSink(apis, config.targetNamespace),
    hairpinServiceCache: watches.hairpinServices,
    ...(config.nodeLocalDns === 'auto' ? { nodeLocal: NodeLocalDnsSink.inCluster(apis.core, config.corednsNamespace, config.clusterDomain) } : {}),
    ...(policy.mode.kind === 'targets' ? { hairpinServices: new HairpinServicesSink(apis.core, config.targetNamespace, config.targetService) } : {}),
    events,
    log,
    metrics,
    dryRun: config.dryRun,
    ...(config.haproxy ? { haproxy: haproxyDeps(config.haproxy, watches, hairpinService, log) } : {}),
  });
  // --once and --dry-run are an operator's one-off commands: they do not contend for the lease.
  const elector =
    config.leaderElection && !config.once && !config.dryRun
      ? new LeaderElector({
          store: new KubeLeaseStore(apis.coordination, config.targetNamespace, LEASE_NAME),
          identity: config.leaderElection.identity,
          ...leaseTimings(config.leaderElection.leaseDurationMs),
          log,
        })
      : undefined;
  const runner = new Runner({
    keys: () => controller.keys(),
    sync: (key, signal) => controller.sync(key, signal),
    ...(elector ? { leadership: elector } : {}),
    classify: retryClassOf,
    backoff: SYNC_RETRY,
    resyncMs: config.resyncMs,
    log,
    onDepthChange: (depth) => metrics.queueDepth.set(depth),
  });
  watches.onChange((scope) => runner.enqueue(scope === 'coredns' ? [COREDNS_KEY] : controller.haproxyKeys()));

  const server: Server | undefined = config.listenAddress
    ? await startHealthServer(config.listenAddress.host, config.listenAddress.port, {
        live: () => true,
        // A standby is ready once its caches are: a rollout must not wait for it to lead.
        ready: () => watches.all().every((informer) => informer.hasSynced()) && (elector?.leading === false || controller.hasSyncedDns()),
        registry: metrics.registry,
      })
    : undefined;
  log.info({ config: loggableConfig(config) }, 'starting hairpin-proxy controller');
  try {
    if (policy.mode.kind === 'targets') await watches.discoverGatewayApi(stop);
    else await logIgnoredRoutes(apis, log, stop);
    for (const informer of watches.all()) informer.start();
    watches.startRechecking();
    // Never plan from a partial cache: a missing Ingress would look like a host to remove.
    await waitForSync(watches.all(), log, { signal: stop, apiserver: apiserverOf(kubeConfig), ...(config.once ? { timeoutMs: ONCE_CACHE_SYNC_TIMEOUT_MS } : {}) });
    log.info('informer caches synced');
    if (config.once) return await syncOnce(controller, log);
    await runner.run(stop);
    return 0;
  } catch (error) {
    if (stop.aborted) return 0;
    log.error({ err: error }, 'the controller cannot run');
    throw error;
  } finally {
    watches.stopRechecking();
    await Promise.all(watches.all().map((informer) => informer.stop()));
    await events.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    log.info('stopped');
  }
}

async function syncOnce(controller: Controller, log: Logger): Promise<number> {
  try {
    for (const key of controller.keys()) await controller.sync(key);
    return 0;
  } catch (error) {
    log.error({ err: error }, 'the one-off sync failed');
    return 1;
  }
}

function haproxyDeps(config: HaproxyConfig, watches: ClusterWatches, service: { namespace: string; name: string }, log: Logger): HaproxyDeps {
  const pool = new ReplicaPool(
    () => (config.dataplaneUrls.length > 0 ? fixedReplicas(config.dataplaneUrls) : discoveredReplicas(watches.hairpinSlices(), config.dataplanePort)),
    (replica) =>
      new HaproxySink(
        new DataPlaneClient({
          baseURL: replica.url,
          username: config.dataplaneUsername,
          password: config.dataplanePassword,
          onRetry: ({ method, path, attempt, delayMs, error }) => log.debug({ replica: replica.url, method, path, attempt, delayMs, err: error }, 'retrying a Data Plane API call'),
        }),
      ),
  );
  return {
    policy: { ...DEFAULT_HAPROXY_POLICY, clusterIpFallback: config.clusterIpFallback },
    target: watches.upstreamTarget,
    replicas: () => pool.replicas(),
    sinkFor: (replica) => pool.sinkFor(replica),
    service: { kind: 'Service', apiVersion: 'v1', ...service },
  };
}
