import type { Config } from '../config.js';
import { loadKubeConfig, makeApis } from '../kube/client.js';
import type { Logger } from '../log.js';
import { removeEverything } from '../reconcile/uninstall.js';

/**
 * `hairpin-proxy uninstall`: what the controller does when its Deployment is deleted, for when it
 * could not (it was killed, or never got the chance): removes everything it wrote to DNS.
 */
export async function uninstallCommand(config: Config, log: Logger): Promise<number> {
  await removeEverything(makeApis(loadKubeConfig(config.kubeconfig)), config, log);
  return 0;
}
