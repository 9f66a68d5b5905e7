import { join } from 'node:path';
import { runOk } from './run.js';

export interface KeyPair {
  readonly certPath: string;
  readonly keyPath: string;
}

/** A self-signed P-256 certificate (openssl), valid for a day, for the given subjectAltNames. */
export async function selfSignedCertificate(dir: string, name: string, subjectAltNames: readonly string[]): Promise<KeyPair> {
  const pair = { certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`) };
  await runOk('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-addext', `subjectAltName=${subjectAltNames.join(',')}`,
    '-keyout', pair.keyPath, '-out', pair.certPath,
  ]);
  return pair;
}
