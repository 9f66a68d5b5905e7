import type { Server } from 'node:http';
import { loggableConfig, type Config, type HaproxyConfig } from './config.js';
import { CorednsCustomSink } from './coredns/custom-sink.js';
import { NODE_LOCAL_DNS_CONFIGMAP, NodeLocalDnsSink } from './coredns/nodelocal-sink.js';
import { CorednsSink } from './coredns/sink.js';
import { DataPlaneClient } from './haproxy/dataplane/client.js';
import { DEFAULT_HAPROXY_POLICY } from './haproxy/desired.js';
import { ReplicaPool } from './haproxy/replica-pool.js';
import { discoveredReplicas, fixedReplicas } from './haproxy/replicas.js';
import { HaproxySink } from './haproxy/sink.js';
import { startHealthServer } from './health.js';
import { apiserverOf, loadKubeConfig, makeApis, type KubeApis } from './kube/client.js';
import { KubeConfigMapStore, type ConfigMapSnapshot } from './kube/configmaps.js';
import { DnsEndpointsSink } from './kube/dns-endpoints.js';
import { logIgnoredRoutes } from './kube/gateway-api.js';
import { DataplanePassword } from './kube/dataplane-secret.js';
import { HairpinServicesSink } from './kube/hairpin-services.js';
import { RemovalGuard, type CleanupGrants } from './kube/removal.js';
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
import { COREDNS_KEY, Controller, dnsWritePacing, type HaproxyDeps } from './reconcile/controller.js';
import { INFORMER_RESTART, retryClassOf, SYNC_RETRY } from './reconcile/retry.js';
import { Removal } from './reconcile/removal.js';
import { Runner } from './reconcile/runner.js';
import { removeEverything } from './reconcile/uninstall.js';

/** `--once` is run by Jobs and CI steps: an apiserver that cannot be listed must end it, not hang it. */
const ONCE_CACHE_SYNC_TIMEOUT_MS = 30_000;
const LEASE_NAME = 'hairpin-proxy';
/** Below the controller pod's terminationGracePeriodSeconds (deploy/base/controller.yaml: 60). */
const REMOVAL_CLEANUP_MS = 45_000;

/** Wiring only: config → clients → informers → controller → runner → servers. Returns the exit code. */
export async function runController(config: Config, log: Logger, stop: AbortSignal): Promise<number> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const apis = makeApis(kubeConfig);
  const metrics = createMetrics();
  const events = new AggregatingEventRecorder(new KubeEventWriter(apis.core), log);
  const hairpinService = { namespace: config.targetNamespace, name: config.targetService };
  const policy = routePolicyOf(config);
  const password = config.haproxy ? await dataplanePasswordOf(config.haproxy, apis.core, config, log, stop) : undefined;
  // The sink reads the informer's copy first; the informer needs the sink to tell its own writes' echoes.
  let cachedCorefile: () => ConfigMapSnapshot | undefined = () => undefined;
  const corednsSink = new CorednsSink(new KubeConfigMapStore(apis.core, config.corednsNamespace, config.corednsConfigMap), config.corednsKey, () => cachedCorefile());
  const watches = watchCluster(
    kubeConfig,
    apis,
    {
      coredns: { namespace: config.corednsNamespace, name: config.corednsConfigMap, ownWrite: (resourceVersion) => corednsSink.wrote(resourceVersion) },
      upstreams: upstreamRefs(policy.mode),
      ...(config.haproxy ? { haproxy: { hairpinService } } : {}),
      ...(config.corednsMode === 'external-dns' ? { hairpinNamespace: config.targetNamespace } : {}),
      ...(policy.mode.kind === 'targets' ? { gatewayApi: { recheckMs: config.gatewayApiRecheckMs } } : {}),
    },
    { log, restartDelayMs: (attempt) => backoffDelay(attempt, INFORMER_RESTART, Math.random) },
  );
  cachedCorefile = watches.corednsConfigMap;
  const controller = new Controller({
    snapshot: watches.snapshot,
    policy,
    coredns: corednsSink,
    dnsMode: config.corednsMode,
    custom: new CorednsCustomSink(apis.core, config.corednsNamespace, config.corednsCustomConfigMap),
    // Outside external-dns mode only to clean up after it, where this install may (RBAC follows the mode).
    dnsEndpoints: new DnsEndpointsSink(apis, config.targetNamespace),
    hairpinServiceCache: watches.hairpinServices,
    ...(config.nodeLocalDns === 'auto' ? { nodeLocal: NodeLocalDnsSink.inCluster(apis.core, config.corednsNamespace, config.clusterDomain) } : {}),
    ...(policy.mode.kind === 'targets' ? { hairpinServices: new HairpinServicesSink(apis.core, config.targetNamespace, config.targetService) } : {}),
    events,
    log,
    metrics,
    dryRun: config.dryRun,
    ...(config.haproxy && password ? { haproxy: haproxyDeps(config.haproxy, password, watches, hairpinService, log) } : {}),
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
  const guard = new RemovalGuard(apis, kubeConfig, { name: config.installName, namespace: config.targetNamespace, corednsNamespace: config.corednsNamespace }, cleanupGrants(config), log);
  const removal = new Removal({
    removing: () => guard.removing(),
    // The cleanup identity reaches every place this mode writes, whatever was deleted before it.
    cleanUp: () => removeEverything(makeApis(guard.cleanupKubeConfig()), config, log),
    release: () => guard.release(),
    log,
  });
  const pacing = dnsWritePacing(config.writeIntervalMs);
  const runner = new Runner({
    keys: () => controller.keys(),
    sync: async (key, signal) => pacing(await controller.sync(key, signal)),
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
    else await logIgnoredRoutes(apis, log);
    for (const informer of watches.all()) informer.start();
    watches.startRechecking();
    // Never plan from a partial cache: a missing Ingress would look like a host to remove.
    await waitForSync(watches.all(), log, { signal: stop, apiserver: apiserverOf(kubeConfig), ...(config.once ? { timeoutMs: ONCE_CACHE_SYNC_TIMEOUT_MS } : {}) });
    log.info('informer caches synced');
    if (config.once) return await syncOnce(controller, log);
    // --dry-run writes nothing, so it neither arms nor performs the removal cleanup.
    const armed =
      !config.dryRun &&
      (await guard.arm().catch((error: unknown) => {
        log.error({ err: error }, 'cannot arm the removal cleanup: deleting this install will leave its DNS changes behind');
        return false;
      }));
    await runner.run(stop);
    if (armed) await removal.finish(REMOVAL_CLEANUP_MS);
    return 0;
  } catch (error) {
    if (stop.aborted) return 0;
    log.error({ err: error }, 'the controller cannot run');
    throw error;
  } finally {
    guard.disarm();
    watches.stopRechecking();
    await Promise.all(watches.all().map((informer) => informer.stop()));
    await events.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    log.info('stopped');
  }
}

/** What the removal cleanup may patch: the DNS ConfigMaps this configuration writes (the same grants deploy/ gives it). */
function cleanupGrants(config: Config): CleanupGrants {
  const edit = ['get', 'patch'];
  return {
    configMaps: [
      { name: config.corednsConfigMap, verbs: edit },
      ...(config.corednsMode === 'custom' || config.corednsMode === 'auto' ? [{ name: config.corednsCustomConfigMap, verbs: [...edit, 'delete'] }] : []),
      ...(config.nodeLocalDns === 'auto' ? [{ name: NODE_LOCAL_DNS_CONFIGMAP, verbs: edit }] : []),
    ],
    ownNamespace: [
      ...(config.corednsMode === 'external-dns' ? [{ apiGroups: ['externaldns.k8s.io'], resources: ['dnsendpoints'], verbs: ['list', 'delete'] }] : []),
      ...(config.targets.length > 0 ? [{ apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'delete'] }] : []),
    ],
  };
}

async function syncOnce(controller: Controller, log: Logger): Promise<number> {
  try {
    for (const key of controller.keys()) await controller.sync(key);
    await controller.flush();
    return 0;
  } catch (error) {
    log.error({ err: error }, 'the one-off sync failed');
    return 1;
  }
}

/** --dataplane-password when given, else the Secret (created where missing, except by --dry-run). */
async function dataplanePasswordOf(haproxy: HaproxyConfig, core: KubeApis['core'], config: Config, log: Logger, stop: AbortSignal): Promise<Pick<DataplanePassword, 'current' | 'refresh'>> {
  const fixed = haproxy.dataplanePassword;
  if (fixed) return { current: () => fixed, refresh: () => undefined };
  return DataplanePassword.ensure(core, config.targetNamespace, haproxy.dataplaneSecret, log, { signal: stop, readOnly: config.dryRun });
}

function haproxyDeps(
  config: HaproxyConfig,
  password: Pick<DataplanePassword, 'current' | 'refresh'>,
  watches: ClusterWatches,
  service: { namespace: string; name: string },
  log: Logger,
): HaproxyDeps {
  const pool = new ReplicaPool(
    () => (config.dataplaneUrls.length > 0 ? fixedReplicas(config.dataplaneUrls) : discoveredReplicas(watches.hairpinSlices(), config.dataplanePort)),
    (replica) =>
      new HaproxySink(
        new DataPlaneClient({
          baseURL: replica.url,
          username: config.dataplaneUsername,
          password: () => password.current(),
          onUnauthorized: () => password.refresh(),
          onRetry: ({ method, path, attempt, delayMs, error }) => log.debug({ replica: replica.url, method, path, attempt, delayMs, err: error }, 'retrying a Data Plane API call'),
        }),
      ),
  );
  return {
    policy: { ...DEFAULT_HAPROXY_POLICY, clusterIpFallback: config.clusterIpFallback },
    target: watches.upstreamTarget,
    replicas: () => pool.replicas(),
    sinkFor: (replica) => pool.sinkFor(replica),
    flush: () => pool.flush(),
    service: { kind: 'Service', apiVersion: 'v1', ...service },
  };
}
