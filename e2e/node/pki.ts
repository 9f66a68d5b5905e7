/**
 * The node's certificates, made with openssl: a CA the kubelet trusts for client certificates,
 * and the apiserver's client certificate for the kubelet (kubectl logs and exec go through it).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from '../harness/index.js';

const exec = promisify(execFile);

export interface NodePki {
  readonly caCert: string;
  readonly apiserverClientCert: string;
  readonly apiserverClientKey: string;
}

export async function makeNodePki(dir: string): Promise<NodePki> {
  mkdirSync(dir, { recursive: true });
  const openssl = await toolPath('openssl');
  const at = (name: string) => join(dir, name);
  await exec(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=hairpin-node-ca', '-keyout', at('ca.key'), '-out', at('ca.crt')]);
  await exec(openssl, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/O=system:masters/CN=kube-apiserver-kubelet-client', '-keyout', at('apiserver-kubelet-client.key'), '-out', at('apiserver-kubelet-client.csr')]);
  await exec(openssl, ['x509', '-req', '-days', '2', '-in', at('apiserver-kubelet-client.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('apiserver-kubelet-client.crt')]);
  return { caCert: at('ca.crt'), apiserverClientCert: at('apiserver-kubelet-client.crt'), apiserverClientKey: at('apiserver-kubelet-client.key') };
}
