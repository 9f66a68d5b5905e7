import type { Logger } from '../log.js';
import type { DataPlaneClient, RequestOptions, WriteTarget } from './dataplane/client.js';
import { DataPlaneError } from './dataplane/errors.js';
import type { DesiredHaproxy } from './desired.js';
import { isEmptyPlan, planHaproxy, type HaproxyPlan, type SectionChange } from './plan.js';

/** The calls the sink makes; DataPlaneClient has them, and so does the unit tests' fake. */
export type DataPlane = Pick<
  DataPlaneClient,
  | 'snapshot'
  | 'startTransaction'
  | 'commitTransaction'
  | 'deleteTransaction'
  | 'listTransactions'
  | 'createFrontend'
  | 'replaceFrontend'
  | 'deleteFrontend'
  | 'createBackend'
  | 'replaceBackend'
  | 'deleteBackend'
  | 'createServer'
  | 'replaceServer'
  | 'waitForReload'
>;

/**
 * - 'unchanged': live already equals desired; nothing was written.
 * - 'runtime': only server slots changed, through the runtime API: no reload.
 * - 'reload': a section changed; one transaction was committed and HAProxy reloaded.
 * - 'dry-run': something would have changed; nothing was written.
 */
export interface HaproxyOutcome {
  readonly action: 'unchanged' | 'runtime' | 'reload' | 'dry-run';
  /** Why each change was made: the reload reasons, or each server write's. */
  readonly reasons: readonly string[];
  readonly writes: number;
  readonly attempts: number;
  /** Server writes the API answered with a reload although the runtime path was expected. */
  readonly unexpectedReloads: number;
}

export interface HaproxySinkContext {
  readonly log: Logger;
  readonly dryRun: boolean;
  /** Cancels the sync: the request in flight ends and nothing more is written. */
  readonly signal?: AbortSignal;
}

const MAX_ATTEMPTS = 3;

/**
 * Keeps one HAProxy replica at the desired configuration through its Data Plane API. Compares
 * first and writes only differences; server changes go to the runtime API, section changes go in
 * one transaction (validated by `haproxy -c` before it replaces anything, so a bad one leaves the
 * old configuration serving). A stale version (409/406) means somebody else wrote: re-read, re-plan.
 */
export class HaproxySink {
  constructor(private readonly api: DataPlane) {}

  async apply(desired: DesiredHaproxy, context: HaproxySinkContext): Promise<HaproxyOutcome> {
    const request: RequestOptions = context.signal ? { signal: context.signal } : {};
    for (let attempt = 1; ; attempt += 1) {
      const live = await this.api.snapshot(request);
      const plan = planHaproxy(live, desired);
      const reasons = reasonsOf(plan);
      if (isEmptyPlan(plan)) return { action: 'unchanged', reasons, writes: 0, attempts: attempt, unexpectedReloads: 0 };
      if (context.dryRun) {
        context.log.info({ reasons }, 'dry run: would change HAProxy');
        return { action: 'dry-run', reasons, writes: 0, attempts: attempt, unexpectedReloads: 0 };
      }
      try {
        const outcome = plan.sections.length > 0
          ? await this.commitSections(plan.sections, live.version, context.log, request)
          : await this.writeServers(plan, live.version, request);
        return { ...outcome, reasons, attempts: attempt };
      } catch (error) {
        const stale = error instanceof DataPlaneError && (error.kind === 'Conflict' || error.kind === 'OutdatedTransaction');
        if (!stale || attempt >= MAX_ATTEMPTS) throw error;
        context.log.info({ attempt, err: error }, 'HAProxy configuration changed under us; re-reading');
      }
    }
  }

  private async writeServers(plan: HaproxyPlan, version: number, request: RequestOptions): Promise<Omit<HaproxyOutcome, 'reasons' | 'attempts'>> {
    let unexpectedReloads = 0;
    let current = version;
    for (const change of plan.servers) {
      const target: WriteTarget = { version: current };
      const result = change.op === 'add'
        ? await this.api.createServer(change.backend, change.server, target, request)
        : await this.api.replaceServer(change.backend, change.server.name, change.server, target, request);
      if (result.effect !== 'live') unexpectedReloads += 1;
      current = result.version ?? current + 1;
    }
    return { action: 'runtime', writes: plan.servers.length, unexpectedReloads };
  }

  private async commitSections(
    sections: readonly SectionChange[],
    version: number,
    log: Logger,
    request: RequestOptions,
  ): Promise<Omit<HaproxyOutcome, 'reasons' | 'attempts'>> {
    await this.discardOrphanedTransactions(log, request);
    const transaction = await this.api.startTransaction(version, request);
    const target = { transactionId: transaction.id };
    try {
      for (const change of sections) await this.stage(change, target, request);
      const committed = await this.api.commitTransaction(transaction.id, request);
      // Committed: the reload is HAProxy's now, and waiting for it is only reporting.
      if (committed.effect === 'reload-scheduled') await this.api.waitForReload(committed.reloadId, request);
      return { action: 'reload', writes: sections.length, unexpectedReloads: 0 };
    } catch (error) {
      // A transaction left open counts against the API's limit (429) until deleted; deleted even
      // when the sync was cancelled, since nothing else will.
      await this.api.deleteTransaction(transaction.id).catch((cleanup: unknown) => log.debug({ err: cleanup }, 'transaction already gone'));
      throw error;
    }
  }

  /**
   * A Data Plane API killed in the middle of a write leaves that write's transaction open, and open
   * transactions count against its limit (429 at 20). This HAProxy is the controller's alone and
   * a replica syncs one at a time, so any transaction open now is such an orphan.
   */
  private async discardOrphanedTransactions(log: Logger, request: RequestOptions): Promise<void> {
    const open = await this.api.listTransactions('in_progress', request);
    for (const transaction of open) if (transaction.id) await this.api.deleteTransaction(transaction.id, request);
    if (open.length > 0) log.info({ count: open.length, ids: open.map((t) => t.id) }, 'discarded transactions left open');
  }

  private async stage(change: SectionChange, target: WriteTarget, request: RequestOptions): Promise<unknown> {
    switch (change.op) {
      case 'delete':
        return change.section === 'frontend' ? this.api.deleteFrontend(change.name, target, request) : this.api.deleteBackend(change.name, target, request);
      case 'create':
        return change.section === 'frontend' ? this.api.createFrontend(change.body, target, request) : this.api.createBackend(change.body, target, request);
      case 'replace':
        return change.section === 'frontend'
          ? this.api.replaceFrontend(change.name, change.body, target, request)
          : this.api.replaceBackend(change.name, change.body, target, request);
    }
  }
}

function reasonsOf(plan: HaproxyPlan): string[] {
  return plan.sections.length > 0
    ? plan.sections.map((s) => `${s.op} ${s.section} ${s.name}: ${s.reason}`)
    : plan.servers.map((s) => `${s.op} server ${s.backend}/${s.server.name}: ${s.reason}`);
}
