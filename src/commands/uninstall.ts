import { removeHairpinRules } from '../coredns/corefile.js';
import { CorednsSink } from '../coredns/sink.js';
import type { Config } from '../config.js';
import { loadKubeConfig, makeApis } from '../kube/client.js';
import { KubeConfigMapStore } from '../kube/configmaps.js';
import type { Logger } from '../log.js';

/**
 * Removes our marker block and the original project's legacy lines from the live Corefile, and
 * nothing else: the Corefile becomes byte-identical to what it was before installation.
 */
export async function uninstallCommand(config: Config, log: Logger): Promise<number> {
  const apis = makeApis(loadKubeConfig(config.kubeconfig));
  const store = new KubeConfigMapStore(apis.core, config.corednsNamespace, config.corednsConfigMap);
  const sink = new CorednsSink(store, config.corednsKey);
  const outcome = await sink.apply(removeHairpinRules, { log, dryRun: config.dryRun });
  log.info({ outcome: outcome.action }, outcome.action === 'unchanged' ? 'nothing to remove' : 'hairpin-proxy rules removed');
  return 0;
}
