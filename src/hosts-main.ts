import type { Config } from './config.js';
import { renderHostsFile, removeHostsBlock } from './hostsfile/block.js';
import { writeHostsFile } from './hostsfile/writer.js';
import { apiserverOf, loadKubeConfig, makeApis } from './kube/client.js';
import { waitForSync } from './kube/informer.js';
import { watchCluster } from './kube/watches.js';
import type { Logger } from './log.js';
import { planHostsFile } from './plan/hosts.js';
import { planRoutes, routePolicyOf } from './plan/routes.js';
import { upstreamRefs } from './plan/upstreams.js';
import { backoffDelay } from './queue/index.js';
import { INFORMER_RESTART, retryClassOf, SYNC_RETRY } from './reconcile/retry.js';
import { Runner } from './reconcile/runner.js';

const HOSTS_KEY = 'hosts';

/**
 * Wiring of `hairpin-proxy hosts-file`: on every node (a DaemonSet, no leader election), one
 * marked block last in the node's /etc/hosts mapping each routed host to its hairpin Service's
 * ClusterIP, for kubelet and the container runtime, which never ask CoreDNS. The same informers
 * and planner as `run`; the block goes when the process is stopped (the DaemonSet deleted), so
 * no node keeps stale entries. Returns the exit code.
 */
export async function runHostsFile(config: Config, hostsPath: string, log: Logger, stop: AbortSignal): Promise<number> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const policy = routePolicyOf(config);
  const watches = watchCluster(
    kubeConfig,
    makeApis(kubeConfig),
    {
      upstreams: upstreamRefs(policy.mode),
      hairpinNamespace: config.targetNamespace,
      ...(policy.mode.kind === 'targets' ? { gatewayApi: { recheckMs: config.gatewayApiRecheckMs } } : {}),
    },
    { log, restartDelayMs: (attempt) => backoffDelay(attempt, INFORMER_RESTART, Math.random) },
  );
  const reported = new Set<string>();
  const sync = async () => {
    const hosts = planHostsFile(planRoutes(watches.snapshot(), policy), watches.hairpinServices(), config.targetNamespace);
    for (const { host, reason } of hosts.skipped) {
      if (!reported.has(`${host}|${reason}`)) log.info({ host, reason }, 'not writing a host to the hosts file');
    }
    reported.clear();
    for (const { host, reason } of hosts.skipped) reported.add(`${host}|${reason}`);
    if (config.dryRun) return log.info({ entries: hosts.entries }, 'dry run: would write the hosts file');
    const result = await writeHostsFile(hostsPath, (current) => renderHostsFile(current, hosts.entries));
    log[result.changed ? 'info' : 'debug']({ hostsPath, hosts: hosts.entries.length, ...result }, result.changed ? 'hosts file updated' : 'hosts file unchanged');
  };
  const runner = new Runner({ keys: () => [HOSTS_KEY], sync: async () => void (await sync()), classify: retryClassOf, backoff: SYNC_RETRY, resyncMs: config.resyncMs, log });
  watches.onChange(() => runner.enqueue([HOSTS_KEY]));
  log.info({ hostsPath }, 'starting hairpin-proxy hosts-file');
  try {
    if (policy.mode.kind === 'targets') await watches.discoverGatewayApi(stop);
    for (const informer of watches.all()) informer.start();
    watches.startRechecking();
    await waitForSync(watches.all(), log, { signal: stop, apiserver: apiserverOf(kubeConfig), ...(config.once ? { timeoutMs: 30_000 } : {}) });
    if (config.once) {
      await sync();
      return 0;
    }
    await runner.run(stop);
    return 0;
  } catch (error) {
    if (stop.aborted) return 0;
    log.error({ err: error }, 'hosts-file cannot run');
    throw error;
  } finally {
    watches.stopRechecking();
    await Promise.all(watches.all().map((informer) => informer.stop()));
    if (!config.once && !config.dryRun) await removeHostsFileBlock(hostsPath, log);
  }
}

/** `hosts-file --remove`, and the end of every run: the file without our block, byte for byte as before. */
export async function removeHostsFileBlock(hostsPath: string, log: Logger): Promise<void> {
  const result = await writeHostsFile(hostsPath, removeHostsBlock);
  log.info({ hostsPath, changed: result.changed }, result.changed ? 'removed the hosts file block' : 'no hosts file block to remove');
}
