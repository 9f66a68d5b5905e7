import type { Backend, RuntimeServer, Server } from './dataplane/models.js';

/**
 * Pure: a backend as HAProxy serves it. The file's server lines give every setting, the runtime
 * gives where each server points and whether it is in rotation: the sink changes maintenance at
 * runtime first and writes the file after, so between the two the runtime is the truth. Without a
 * runtime view (a backend HAProxy has not loaded yet) the file is all there is.
 */
export function servingBackend(file: Backend, runtime: readonly RuntimeServer[] | undefined): Backend {
  if (!runtime) return file;
  const live = new Map(runtime.map((server) => [server.name, server]));
  const servers = Object.fromEntries(
    Object.entries(file.servers ?? {}).map(([name, server]) => {
      const now = live.get(name);
      if (!now) return [name, server];
      // 'drain' takes no new connections: out of rotation, as maintenance is.
      const maintenance = now.admin_state === 'ready' ? 'disabled' : 'enabled';
      return [name, { ...server, ...(now.address ? { address: now.address } : {}), ...(now.port ? { port: now.port } : {}), maintenance }];
    }),
  );
  return { ...file, servers };
}

/**
 * Pure: the server lines of `file` that say something else than HAProxy serves (`serving`, same
 * backend), as they should be written: a reload would bring the file's version back.
 */
export function fileLag(file: Backend, serving: Backend): Server[] {
  const lines = file.servers ?? {};
  return Object.values(serving.servers ?? {}).flatMap((server) => {
    const line = lines[server.name];
    const lags = line !== undefined && (line.address !== server.address || (line.port ?? null) !== (server.port ?? null) || inMaintenance(line) !== inMaintenance(server));
    return line && lags ? [{ ...line, ...pick(server) }] : [];
  });
}

function pick(server: Server): Pick<Server, 'address' | 'port' | 'maintenance'> {
  return { address: server.address, ...(server.port == null ? {} : { port: server.port }), maintenance: inMaintenance(server) ? 'enabled' : 'disabled' };
}

function inMaintenance(server: Server): boolean {
  return server.maintenance === 'enabled';
}
