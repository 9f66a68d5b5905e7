/**
 * The Data Plane API v3 models this controller reads and writes: a hand-kept subset of the API's
 * own spec (client-native's haproxy_spec), field for field. Full types can be generated where the
 * spec is reachable (hack/gen-dataplane-types.sh, into the git-ignored generated/); they are not
 * committed because the spec cannot be obtained from this project's package registries.
 * Unknown fields pass through untouched: a replace sends back the whole object as it was read.
 */
type Toggle = 'enabled' | 'disabled';

export interface Info {
  api?: { version?: string; build_date?: string };
  system?: { hostname?: string };
  [field: string]: unknown;
}

export interface Bind {
  name: string;
  address?: string;
  port?: number | null;
  [field: string]: unknown;
}

export interface Frontend {
  name: string;
  mode?: 'http' | 'tcp';
  default_backend?: string;
  maxconn?: number | null;
  client_timeout?: number | null;
  tcplog?: boolean;
  /** Present on full_section reads and writes, keyed by bind name. */
  binds?: Record<string, Bind>;
  [field: string]: unknown;
}

export interface ServerParams {
  check?: Toggle;
  inter?: number | null;
  rise?: number | null;
  fall?: number | null;
  maintenance?: Toggle;
  maxconn?: number | null;
  weight?: number | null;
  'send-proxy'?: Toggle;
  'send-proxy-v2'?: Toggle;
  [field: string]: unknown;
}

export interface Server extends ServerParams {
  name: string;
  address: string;
  port?: number | null;
  id?: number | null;
}

export interface Backend {
  name: string;
  mode?: 'http' | 'tcp' | 'log';
  balance?: { algorithm: 'roundrobin' | 'leastconn' | 'first' | 'source' | 'random' | string };
  connect_timeout?: number | null;
  server_timeout?: number | null;
  tunnel_timeout?: number | null;
  check_timeout?: number | null;
  retries?: number | null;
  redispatch?: { enabled: Toggle; interval?: number | null };
  /** Present on full_section reads and writes, keyed by server name. */
  servers?: Record<string, Server>;
  [field: string]: unknown;
}

export interface RuntimeServer {
  readonly id?: string;
  readonly name?: string;
  readonly address?: string;
  readonly port?: number | null;
  admin_state?: 'ready' | 'maint' | 'drain';
  operational_state?: 'up' | 'down' | 'stopping';
}

export interface RuntimeAddServer extends ServerParams {
  name?: string;
  address?: string;
  port?: number | null;
}

export interface Transaction {
  id?: string;
  _version?: number;
  status?: 'failed' | 'outdated' | 'in_progress' | 'success';
}

export interface Reload {
  id?: string;
  reload_timestamp?: number;
  response?: string;
  status?: 'failed' | 'in_progress' | 'succeeded';
}
