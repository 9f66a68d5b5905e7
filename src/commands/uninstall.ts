import type { Config } from '../config.js';
import { loadKubeConfig, makeApis } from '../kube/client.js';
import { RemovalGuard } from '../kube/removal.js';
import type { Logger } from '../log.js';
import { removeEverything } from '../reconcile/uninstall.js';

/**
 * `hairpin-proxy uninstall`: what the controller does when its Deployment is deleted, for when it
 * cannot (it is stopped or broken): removes everything it wrote to DNS (removeEverything), then
 * releases the install's removal finalizers, so a pending `kubectl delete` or `helm uninstall`
 * completes.
 */
export async function uninstallCommand(config: Config, log: Logger): Promise<number> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  await removeEverything(makeApis(kubeConfig), config, log);
  if (!config.dryRun) await new RemovalGuard(kubeConfig, { name: config.installName, namespace: config.targetNamespace, corednsNamespace: config.corednsNamespace }, log).release();
  return 0;
}
