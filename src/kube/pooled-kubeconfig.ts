import { createHash } from 'node:crypto';
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** Every pool in use, so that a command that is done can end their connections and let Node exit. */
const openPools = new Set<Dispatcher>();

/**
 * Ends every pool's connections at once, those still connecting included (a TLS handshake with an
 * apiserver that never answers would otherwise keep the process alive after its command is done).
 */
export async function closeConnectionPools(): Promise<void> {
  const pools = [...openPools];
  openPools.clear();
  await Promise.all(pools.map((pool) => pool.destroy()));
}

/**
 * A KubeConfig whose requests share one connection pool. client-node (2.0) gives every request a
 * new undici Agent, so each API call opened a new TCP connection and a TLS handshake: on a
 * loaded node that is most of a small request's time, and every write waited for it. The pool is
 * keyed by what TLS depends on (server, CA, client certificate and key, as read for this
 * request), so a rotated certificate gets a new pool and the old one closes once its requests end.
 */
export class PooledKubeConfig extends KubeConfig {
  #pool: { readonly key: string; readonly dispatcher: Dispatcher } | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const key = await this.#tlsIdentity();
    if (this.#pool?.key === key) {
      context.setDispatcher(this.#pool.dispatcher);
      void fresh.close();
      return;
    }
    const stale = this.#pool?.dispatcher;
    this.#pool = { key, dispatcher: fresh };
    openPools.add(fresh);
    if (stale) {
      openPools.delete(stale);
      void stale.close();
    }
  }

  async #tlsIdentity(): Promise<string> {
    const options: RequestOptions = {};
    await this.applyToHTTPSOptions(options);
    const identity = [this.getCurrentCluster()?.server, options.ca, options.cert, options.key, options.rejectUnauthorized, options.servername].map((part) => (part === undefined ? '' : String(part)));
    return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
  }
}
