import { removeHairpinRules } from '../coredns/corefile.js';
import { CorednsCustomSink } from '../coredns/custom-sink.js';
import { NodeLocalDnsSink } from '../coredns/nodelocal-sink.js';
import { CorednsSink } from '../coredns/sink.js';
import type { KubeApis } from '../kube/client.js';
import { KubeConfigMapStore } from '../kube/configmaps.js';
import { DnsEndpointsSink } from '../kube/dns-endpoints.js';
import { KubeError } from '../kube/errors.js';
import { HairpinServicesSink } from '../kube/hairpin-services.js';
import type { Logger } from '../log.js';

/** Where hairpin-proxy writes: the subset of Config that removing it needs. */
export interface InstallLocations {
  readonly corednsNamespace: string;
  readonly corednsConfigMap: string;
  readonly corednsKey: string;
  readonly corednsCustomConfigMap: string;
  readonly clusterDomain: string;
  readonly targetNamespace: string;
  readonly targetService: string;
  readonly dryRun: boolean;
}

/**
 * Removes everything hairpin-proxy wrote to DNS, in every mode, and nothing else: our marker block
 * and the original project's legacy lines from the Corefile (which becomes byte-identical to what
 * it was before installation), our key of coredns-custom (and that ConfigMap, if we created it
 * and it is empty), our node-local-dns block, our DNSEndpoints, and the hairpin Services --target
 * created (by their labels): no host resolves to them any more.
 */
export async function removeEverything(apis: KubeApis, at: InstallLocations, log: Logger): Promise<void> {
  const context = { log, dryRun: at.dryRun };
  // RBAC follows the configuration: a place this install was never granted, it never wrote to.
  // (During a removal the identity may be gone altogether: the other identity covers those places.)
  const unlessForbidden = async (place: string, step: () => Promise<void>) => {
    try {
      await step();
    } catch (error) {
      if (!(error instanceof KubeError && (error.kind === 'Forbidden' || error.kind === 'Unauthorized'))) throw error;
      log.info({ place, refused: error.kind }, 'not granted to this identity: skipped');
    }
  };
  const sink = new CorednsSink(new KubeConfigMapStore(apis.core, at.corednsNamespace, at.corednsConfigMap), at.corednsKey);
  await unlessForbidden('Corefile', async () => {
    const outcome = await sink.apply(removeHairpinRules, context);
    log.info({ outcome: outcome.action }, outcome.action === 'unchanged' ? 'nothing to remove' : 'hairpin-proxy rules removed');
  });
  const custom = new CorednsCustomSink(apis.core, at.corednsNamespace, at.corednsCustomConfigMap);
  await unlessForbidden(custom.location, async () => {
    if ((await custom.write(undefined, context)).action !== 'unchanged') log.info({ configMap: custom.location }, 'override removed');
    if (await custom.deleteIfOursAndEmpty(context)) log.info({ configMap: `${custom.namespace}/${custom.name}` }, 'deleted the coredns-custom ConfigMap hairpin-proxy had created');
  });
  await unlessForbidden('node-local-dns', async () => {
    const nodeLocal = await NodeLocalDnsSink.inCluster(apis.core, at.corednsNamespace, at.clusterDomain).apply([], context);
    if (nodeLocal.action !== 'absent') log.info({ outcome: nodeLocal.action }, 'node-local-dns: our block removed where there was one');
  });
  await unlessForbidden('DNSEndpoints', async () => {
    const endpoints = await new DnsEndpointsSink(apis, at.targetNamespace).apply([], context);
    if (endpoints.removed > 0) log.info({ removed: endpoints.removed }, 'DNSEndpoints removed');
  });
  await unlessForbidden('hairpin Services', async () => {
    const services = await new HairpinServicesSink(apis.core, at.targetNamespace, at.targetService).apply([], context);
    if (services.removed.length > 0) log.info({ removed: services.removed }, 'hairpin Services removed');
  });
}
