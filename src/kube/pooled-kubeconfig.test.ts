import { describe, expect, it } from '@jest/globals';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { PooledKubeConfig } from './pooled-kubeconfig.js';

function configWith(caData: string): PooledKubeConfig {
  const config = new PooledKubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from(caData).toString('base64') }],
    users: [{ name: 'u', token: 'secret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

async function dispatcherOf(config: PooledKubeConfig): Promise<unknown> {
  const context = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
  await config.applySecurityAuthentication(context);
  expect(context.getHeaders().Authorization).toBe('Bearer secret');
  return context.getDispatcher();
}

describe('PooledKubeConfig', () => {
  it('gives every request of one identity the same connection pool, so TLS is negotiated once', async () => {
    const config = configWith('CA one');
    const first = await dispatcherOf(config);
    expect(first).toBeDefined();
    expect(await dispatcherOf(config)).toBe(first);
  });

  it('starts a new pool when what TLS depends on changes (a rotated CA or certificate)', async () => {
    const config = configWith('CA one');
    const first = await dispatcherOf(config);
    config.clusters[0] = { ...config.clusters[0], name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from('CA two').toString('base64'), skipTLSVerify: false };
    expect(await dispatcherOf(config)).not.toBe(first);
  });
});
