/**
 * Ingress hosts become CoreDNS rewrite rules, so every host is validated here, once, before any
 * other module sees it: nothing that fails these checks is ever written to a Corefile.
 */
export type HostCheck = { readonly ok: true; readonly host: string } | { readonly ok: false; readonly reason: string };

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function checkHost(raw: string, clusterDomain: string): HostCheck {
  const host = raw.trim().toLowerCase().replace(/\.$/, '');
  if (host === '') return { ok: false, reason: 'empty host' };
  if (host.length > MAX_NAME_LENGTH) return { ok: false, reason: `longer than ${MAX_NAME_LENGTH} characters` };
  const labels = host.split('.');
  // A single-label rule would also catch the search-path expansions of short names inside the cluster.
  if (labels.length < 2) return { ok: false, reason: 'single-label host' };
  for (const [index, label] of labels.entries()) {
    if (label === '*') {
      if (index !== 0) return { ok: false, reason: 'wildcard is only allowed as the whole first label' };
      continue;
    }
    if (label.length > MAX_LABEL_LENGTH) return { ok: false, reason: `label "${label}" is longer than ${MAX_LABEL_LENGTH} characters` };
    if (!LABEL.test(label)) return { ok: false, reason: `label "${label}" is not a RFC 1123 label` };
  }
  if (labels.length === 2 && labels[0] === '*') return { ok: false, reason: 'wildcard over a top-level domain' };
  if (labels.every((label) => /^[0-9]+$/.test(label))) return { ok: false, reason: 'IP address, not a host name' };
  // Rewriting names under the cluster domain could capture Service names, our own target included.
  const domain = clusterDomain.toLowerCase();
  if (host === domain || host.endsWith(`.${domain}`)) return { ok: false, reason: `inside the cluster domain ${domain}` };
  return { ok: true, host };
}
