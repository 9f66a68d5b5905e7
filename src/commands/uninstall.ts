import { removeHairpinRules } from '../coredns/corefile.js';
import { CorednsCustomSink } from '../coredns/custom-sink.js';
import { NodeLocalDnsSink } from '../coredns/nodelocal-sink.js';
import { CorednsSink } from '../coredns/sink.js';
import type { Config } from '../config.js';
import { loadKubeConfig, makeApis } from '../kube/client.js';
import { KubeConfigMapStore } from '../kube/configmaps.js';
import { DnsEndpointsSink } from '../kube/dns-endpoints.js';
import { HairpinServicesSink } from '../kube/hairpin-services.js';
import type { Logger } from '../log.js';

/**
 * Removes our marker block and the original project's legacy lines from the live Corefile, and
 * nothing else: the Corefile becomes byte-identical to what it was before installation. Then our
 * key of coredns-custom (and that ConfigMap, if we created it and it is empty), and the hairpin
 * Services --target created (by their labels): no host resolves to them any more.
 */
export async function uninstallCommand(config: Config, log: Logger): Promise<number> {
  const apis = makeApis(loadKubeConfig(config.kubeconfig));
  const store = new KubeConfigMapStore(apis.core, config.corednsNamespace, config.corednsConfigMap);
  const sink = new CorednsSink(store, config.corednsKey);
  const context = { log, dryRun: config.dryRun };
  const outcome = await sink.apply(removeHairpinRules, context);
  log.info({ outcome: outcome.action }, outcome.action === 'unchanged' ? 'nothing to remove' : 'hairpin-proxy rules removed');
  // In every mode: the coredns-custom override, and the ConfigMap itself if hairpin-proxy created it.
  const custom = new CorednsCustomSink(apis.core, config.corednsNamespace, config.corednsCustomConfigMap);
  if ((await custom.write(undefined, context)).action !== 'unchanged') log.info({ configMap: custom.location }, 'override removed');
  const nodeLocal = await NodeLocalDnsSink.inCluster(apis.core, config.corednsNamespace, config.clusterDomain).apply([], context);
  if (nodeLocal.action !== 'absent') log.info({ outcome: nodeLocal.action }, 'node-local-dns: our block removed where there was one');
  const endpoints = await new DnsEndpointsSink(apis, config.targetNamespace).apply([], context);
  if (endpoints.removed > 0) log.info({ removed: endpoints.removed }, 'DNSEndpoints removed');
  if (await custom.deleteIfOursAndEmpty(context)) log.info({ configMap: `${custom.namespace}/${custom.name}` }, 'deleted the coredns-custom ConfigMap hairpin-proxy had created');
  const services = await new HairpinServicesSink(apis.core, config.targetNamespace, config.targetService).apply([], { log, dryRun: config.dryRun });
  if (services.removed.length > 0) log.info({ removed: services.removed }, 'hairpin Services removed');
  return 0;
}
