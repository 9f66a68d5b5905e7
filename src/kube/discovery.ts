import { KubernetesObjectApi } from '@kubernetes/client-node';
import { toKubeError } from './errors.js';

/**
 * Which kinds the apiserver serves, from its discovery documents: every authenticated identity may
 * read them, so asking never shows up as a refused request, whatever this install is granted.
 */
export class Discovery extends KubernetesObjectApi {
  /** Whether `kind` is served in `apiVersion` (e.g. externaldns.k8s.io/v1alpha1, DNSEndpoint). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    try {
      return (await this.resource(apiVersion, kind)) !== undefined;
    } catch (error) {
      const failure = toKubeError(`discover ${apiVersion}`, error);
      if (failure.kind === 'NotFound') return false;
      throw failure;
    }
  }
}
