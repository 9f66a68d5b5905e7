/**
 * The product's Data Plane API client plus the calls only tests make: inspecting the live
 * configuration and HAProxy's runtime state, and the writes a test uses to set a scene.
 */
import { CONFIG, DataPlaneClient, RUNTIME, seg, type CommitResult, type WriteResult, type WriteTarget } from '../../src/haproxy/dataplane/client.js';
import type { Backend, Bind, Info, Reload, RuntimeAddServer, RuntimeServer, Server } from '../../src/haproxy/dataplane/models.js';

export class HarnessDataPlaneClient extends DataPlaneClient {
  async info(): Promise<Info> {
    return (await this.get<Info>('/info', undefined)).data;
  }

  async getBackend(name: string): Promise<Backend> {
    return (await this.get<Backend>(`${CONFIG}/backends/${seg(name)}`, { full_section: true })).data;
  }

  /** The servers of backend, live or as an open transaction has them. */
  async listServers(backend: string, read: { transactionId?: string } = {}): Promise<Server[]> {
    return (await this.get<Server[]>(`${CONFIG}/backends/${seg(backend)}/servers`, { transaction_id: read.transactionId })).data;
  }

  createBind(frontend: string, bind: Bind, target: WriteTarget): Promise<WriteResult<Bind>> {
    return this.write('POST', `${CONFIG}/frontends/${seg(frontend)}/binds`, target, {}, bind);
  }

  /** Always reloads (the API removes servers only through the file), unless staged in a transaction. */
  deleteServer(backend: string, name: string, target: WriteTarget): Promise<WriteResult<void>> {
    return this.write('DELETE', `${CONFIG}/backends/${seg(backend)}/servers/${seg(name)}`, target, {});
  }

  /** Commits with force_reload: the reply comes once the reload has run. */
  commitNow(id: string): Promise<CommitResult> {
    return this.commit(id, { force_reload: true }, {});
  }

  /** The reloads the API remembers (reload_retention), oldest first. */
  async listReloads(): Promise<Reload[]> {
    return (await this.get<Reload[]>('/services/haproxy/reloads', undefined)).data;
  }

  listRuntimeServers(backend: string): Promise<RuntimeServer[]> {
    return this.runtimeServers(backend);
  }

  async getRuntimeServer(backend: string, name: string): Promise<RuntimeServer> {
    return (await this.get<RuntimeServer>(`${RUNTIME}/backends/${seg(backend)}/servers/${seg(name)}`, undefined)).data;
  }

  async setRuntimeServer(backend: string, name: string, state: Pick<RuntimeServer, 'admin_state' | 'operational_state'>): Promise<RuntimeServer> {
    return (await this.http.request<RuntimeServer>({ method: 'PUT', path: `${RUNTIME}/backends/${seg(backend)}/servers/${seg(name)}`, body: state })).data;
  }

  /** `maintenance` defaults to 'disabled', as the product's createServer does. */
  async addRuntimeServer(backend: string, server: RuntimeAddServer & { name: string; address: string }): Promise<RuntimeAddServer> {
    return (await this.http.request<RuntimeAddServer>({ method: 'POST', path: `${RUNTIME}/backends/${seg(backend)}/servers`, body: { maintenance: 'disabled', ...server } })).data;
  }

  /** Puts the server in maintenance, then deletes it; its open connections are cut. */
  async deleteRuntimeServer(backend: string, name: string): Promise<void> {
    await this.http.request({ method: 'DELETE', path: `${RUNTIME}/backends/${seg(backend)}/servers/${seg(name)}` });
  }
}
