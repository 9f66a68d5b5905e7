/**
 * The configuration under which the Data Plane API was chosen and is tested against the real
 * HAProxy 2.6 (see README.md beside this file): HAProxy in master-worker mode, the Data Plane API
 * beside it on loopback, reloads through the master CLI. Pure text builders; the caller writes the
 * files and starts the processes.
 */

export interface HaproxyBaseConfigOptions {
  /** Unix socket of the runtime API the Data Plane API uses for no-reload server changes. */
  runtimeSocket: string;
}

/**
 * global + defaults only: the Data Plane API adds frontends, binds, backends and servers.
 * No `default-server` line anywhere: with one, the API refuses to add servers at runtime and
 * reloads instead. Timeouts are explicit, since HAProxy's defaults are infinite and hang clients.
 */
export function haproxyBaseConfig({ runtimeSocket }: HaproxyBaseConfigOptions): string {
  return `global
    # level admin: add/del server and set server need it. expose-fd listeners lets a reload
    # hand the listening sockets to the new worker, so no connection is refused meanwhile.
    stats socket ${runtimeSocket} mode 600 level admin expose-fd listeners
    stats timeout 30s

defaults
    mode tcp
    timeout connect 5s
    timeout client 1m
    timeout server 1m
    timeout tunnel 1h
    timeout client-fin 5s
`;
}

export interface ReloadScriptOptions {
  /** HAProxy's master CLI socket (`haproxy -W -S <masterSocket>`). */
  masterSocket: string;
  /** How long to wait for the new worker; default 10 s. */
  timeoutSeconds?: number;
}

/**
 * The reload_cmd script (the Data Plane API runs it without a shell, so it must be a file).
 * HAProxy 2.6's master CLI answers `reload` before the new worker is up, and a configuration that
 * fails to load leaves the old worker running while the command still "succeeds". The script
 * therefore waits for the master's reload counter to move and exits non-zero on a failed load,
 * so the API records the reload as failed and restores its last known good file.
 * Needs socat and awk.
 */
export function reloadScript({ masterSocket, timeoutSeconds = 10 }: ReloadScriptOptions): string {
  return `#!/bin/sh
set -eu
sock=${shellQuote(masterSocket)}
# "show proc" master line: <pid> master <reloads> [failed: <n>] <uptime> <version>
state() { echo 'show proc' | socat "UNIX-CONNECT:$sock" - 2>/dev/null | awk '$2 == "master" { sub(/]$/, "", $5); print $3, $5 }'; }
before=$(state)
before=\${before%% *}
echo reload | socat "UNIX-CONNECT:$sock" - >/dev/null
i=0
while [ "$i" -lt ${timeoutSeconds * 10} ]; do
  now=$(state)
  if [ -n "$now" ] && [ "\${now%% *}" != "$before" ]; then
    [ "\${now##* }" = 0 ] && exit 0
    echo "haproxy could not load the new configuration (master reloads/failed: $now)" >&2
    exit 1
  fi
  sleep 0.1
  i=$((i + 1))
done
echo "haproxy did not finish reloading within ${timeoutSeconds}s" >&2
exit 1
`;
}

export interface DataplaneConfigOptions {
  host: string;
  port: number;
  username: string;
  /** Stored in clear (`insecure: true`): local and test use only; deployments mount a userlist. */
  password: string;
  /** HAProxy's configuration file, which the API rewrites. */
  configFile: string;
  haproxyBin: string;
  /** Path of the script from reloadScript(); no whitespace (see dataplaneConfigYaml). */
  reloadScriptPath: string;
  /** Holds transactions, backups and storage; must be writable. */
  stateDir: string;
  /** Batching window for reloads, in seconds (the API's minimum is 1). Default 1. */
  reloadDelaySeconds?: number;
  /** Open transactions allowed before the API answers 429. Default 20. */
  maxOpenTransactions?: number;
}

/**
 * dataplaneapi.yaml for v3. No `master_runtime`: the API reloads through the master socket only
 * with HAProxy >= 2.7, so on 2.6 it runs reload_cmd, and it finds the runtime API through the
 * `stats socket` line of the HAProxy configuration.
 */
export function dataplaneConfigYaml(o: DataplaneConfigOptions): string {
  // The API splits reload_cmd on spaces and execs it: a path with a space cannot work.
  if (/\s/.test(o.reloadScriptPath)) throw new Error(`reload script path has whitespace: ${o.reloadScriptPath}`);
  const q = yamlQuote;
  return `config_version: 2
name: hairpin-proxy
mode: single
dataplaneapi:
  host: ${q(o.host)}
  port: ${o.port}
  user:
    - name: ${q(o.username)}
      insecure: true
      password: ${q(o.password)}
  transaction:
    transaction_dir: ${q(`${o.stateDir}/transactions`)}
    backups_number: 0
    max_open_transactions: ${o.maxOpenTransactions ?? 20}
  resources:
    maps_dir: ${q(`${o.stateDir}/maps`)}
    ssl_certs_dir: ${q(`${o.stateDir}/ssl`)}
    general_storage_dir: ${q(`${o.stateDir}/general`)}
    dataplane_storage_dir: ${q(`${o.stateDir}/dataplane`)}
    spoe_dir: ${q(`${o.stateDir}/spoe`)}
    spoe_transaction_dir: ${q(`${o.stateDir}/spoe-transactions`)}
haproxy:
  config_file: ${q(o.configFile)}
  haproxy_bin: ${q(o.haproxyBin)}
  master_worker_mode: true
  reload:
    reload_strategy: custom
    reload_delay: ${o.reloadDelaySeconds ?? 1}
    reload_cmd: ${q(o.reloadScriptPath)}
    restart_cmd: ${q(o.reloadScriptPath)}
    reload_retention: 1
log_targets:
  - log_to: stdout
    log_level: info
    log_types: [app]
`;
}

/** JSON strings are valid YAML scalars and escape everything that matters. */
function yamlQuote(value: string): string {
  return JSON.stringify(value);
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
