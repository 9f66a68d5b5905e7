import type { Server } from 'node:http';
import { loggableConfig, type Config, type HaproxyConfig } from './config.js';
import { CorednsSink } from './coredns/sink.js';
import { DataPlaneClient } from './haproxy/dataplane/client.js';
import { DEFAULT_HAPROXY_POLICY } from './haproxy/desired.js';
import { ReplicaPool } from './haproxy/replica-pool.js';
import { discoveredReplicas, fixedReplicas } from './haproxy/replicas.js';
import { HaproxySink } from './haproxy/sink.js';
import { startHealthServer } from './health.js';
import { loadKubeConfig, makeApis } from './kube/client.js';
import { KubeConfigMapStore } from './kube/configmaps.js';
import { KubeEventRecorder } from './kube/events.js';
import { waitForSync } from './kube/informer.js';
import { watchCluster, type ClusterWatches } from './kube/watches.js';
import type { Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { backoffDelay, WorkQueue } from './queue/index.js';
import { COREDNS_KEY, Controller, type HaproxyDeps } from './reconcile/controller.js';

const INFORMER_RESTART = { baseMs: 500, maxMs: 30_000, jitter: 0.2 };
// One cheap key: a short cap means a fixed Corefile or a recovered API server is picked up within
// seconds, without hammering anything.
const SYNC_RETRY = { baseMs: 200, maxMs: 5_000, jitter: 0.2 };

/** Wiring only: config → clients → informers → queue → controller → servers. Returns the exit code. */
export async function runController(config: Config, log: Logger, stop: AbortSignal): Promise<number> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const apis = makeApis(kubeConfig);
  const metrics = createMetrics();
  const events = new KubeEventRecorder(apis.core, log);
  const store = new KubeConfigMapStore(apis.core, config.corednsNamespace, config.corednsConfigMap);

  let queue: WorkQueue<string> | undefined;
  const hairpinService = { namespace: config.targetNamespace, name: config.targetService };
  const watches = watchCluster(
    kubeConfig,
    apis,
    {
      coredns: { namespace: config.corednsNamespace, name: config.corednsConfigMap },
      ...(config.haproxy ? { haproxy: { ingressController: config.haproxy.ingressController, hairpinService } } : {}),
    },
    {
      log,
      onChange: (scope) => {
        const keys = scope === 'coredns' ? [COREDNS_KEY] : controller.haproxyKeys();
        for (const key of keys) queue?.add(key);
      },
      restartDelayMs: (attempt) => backoffDelay(attempt, INFORMER_RESTART, Math.random),
    },
  );
  const controller: Controller = new Controller({
    snapshot: watches.snapshot,
    policy: {
      ingressClasses: config.ingressClasses,
      target: `${config.targetService}.${config.targetNamespace}.svc.${config.clusterDomain}`,
      clusterDomain: config.clusterDomain,
    },
    coredns: new CorednsSink(store, config.corednsKey, events),
    events,
    log,
    metrics,
    dryRun: config.dryRun,
    ...(config.haproxy ? { haproxy: haproxyDeps(config.haproxy, watches, log) } : {}),
  });

  const server: Server | undefined = config.listenAddress
    ? await startHealthServer(config.listenAddress.host, config.listenAddress.port, {
        live: () => true,
        ready: () => watches.all.every((informer) => informer.hasSynced()) && controller.hasSyncedDns(),
        registry: metrics.registry,
      })
    : undefined;
  log.info({ config: loggableConfig(config) }, 'starting hairpin-proxy controller');
  for (const informer of watches.all) informer.start();
  try {
    // Never plan from a partial cache: a missing Ingress would look like a host to remove.
    await waitForSync(watches.all, log, stop);
    log.info('informer caches synced');
    if (config.once) return await syncOnce(controller, log);
    queue = new WorkQueue<string>({
      sync: async (key) => void (await controller.sync(key)),
      backoff: SYNC_RETRY,
      resync: { intervalMs: config.resyncMs, keys: () => controller.keys() },
      onResult: ({ key, ok, retryInMs }) => {
        metrics.queueDepth.set(queue?.depth ?? 0);
        if (!ok) log.warn({ key, retryInMs }, 'sync will be retried');
      },
    });
    queue.start();
    for (const key of controller.keys()) queue.add(key);
    await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
    log.info('shutting down: draining the work queue');
    await queue.shutdown();
    return 0;
  } finally {
    await Promise.all(watches.all.map((informer) => informer.stop()));
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

function haproxyDeps(config: HaproxyConfig, watches: ClusterWatches, log: Logger): HaproxyDeps {
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
    policy: { ...DEFAULT_HAPROXY_POLICY, ports: config.ports, proxyProtocol: config.proxyProtocol, clusterIpFallback: config.clusterIpFallback },
    target: watches.ingressTarget,
    replicas: () => pool.replicas(),
    sinkFor: (replica) => pool.sinkFor(replica),
  };
}
