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
import { LeaderElector, leaseTimings } from './kube/leader.js';
import { KubeLeaseStore } from './kube/leases.js';
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

  const server: Server | undefined = config.listenAddress
    ? await startHealthServer(config.listenAddress.host, config.listenAddress.port, {
        live: () => true,
        // A standby is ready once its caches are: a rollout must not wait for it to lead.
        ready: () => watches.all.every((informer) => informer.hasSynced()) && (elector?.leading === false || controller.hasSyncedDns()),
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
    // Warm caches first, then the lease: a standby that takes over can sync at once. A leader
    // that loses the lease (say, the apiserver was away longer than the renew deadline) stops
    // writing and stands by again, in-process: the caches stay warm, nothing restarts.
    for (;;) {
      const leadership = elector ? await elector.lead(stop) : undefined;
      if (stop.aborted) return 0;
      const active = new WorkQueue<string>({
        sync: async (key) => void (await controller.sync(key)),
        backoff: SYNC_RETRY,
        resync: { intervalMs: config.resyncMs, keys: () => controller.keys() },
        onResult: ({ key, ok, retryInMs }) => {
          metrics.queueDepth.set(active.depth);
          if (!ok) log.warn({ key, retryInMs }, 'sync will be retried');
        },
      });
      queue = active;
      active.start();
      for (const key of controller.keys()) active.add(key);
      const lost = await new Promise<boolean>((resolve) => {
        stop.addEventListener('abort', () => resolve(false), { once: true });
        leadership?.addEventListener('abort', () => resolve(true), { once: true });
      });
      queue = undefined;
      log.info(lost ? 'lost the lease: draining the work queue, then standing by' : 'shutting down: draining the work queue');
      await active.shutdown();
      if (!lost) return 0;
    }
  } finally {
    await elector?.release();
    await Promise.all(watches.all.map((informer) => informer.stop()));
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    log.info('stopped');
  }
}

const LEASE_NAME = 'hairpin-proxy';

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
