/**
 * A Corefile we must not edit: nothing is written. Retrying cannot help until a person fixes it,
 * so a sync that meets one is a permanent failure (src/reconcile/retry.ts): reported once as a
 * Warning Event InvalidCorefile, backed off to minutes, and re-tried at once when the ConfigMap
 * changes.
 */
export class CorefileError extends Error {
  readonly kind = 'Invalid';
  readonly line?: number;

  constructor(problem: string, line?: number) {
    super(line === undefined ? `Corefile ${problem}` : `Corefile line ${line}: ${problem}`);
    this.name = 'CorefileError';
    this.line = line;
  }
}
