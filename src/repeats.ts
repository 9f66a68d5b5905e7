/**
 * What a failure is to the one reporting it: the first of a streak, a change of cause while the
 * streak goes on, or a repeat of the last one.
 */
export type Recurrence = 'first' | 'changed' | 'repeat';

/**
 * Tells a new finding from a repeat, so that a failure is reported when it appears or changes and
 * once when it ends, not on every retry: an apiserver outage is one warning, not one per second.
 */
export class RepeatFilter<K = string> {
  readonly #streaks = new Map<K, { signature: string; count: number }>();

  /** Records a failure of subject with a signature (what would make it a different failure). */
  failed(subject: K, signature: string): Recurrence {
    const streak = this.#streaks.get(subject);
    if (streak?.signature === signature) {
      streak.count += 1;
      return 'repeat';
    }
    this.#streaks.set(subject, { signature, count: (streak?.count ?? 0) + 1 });
    return streak ? 'changed' : 'first';
  }

  /** Ends subject's streak; returns how many failures it had (0: it was not failing). */
  succeeded(subject: K): number {
    const count = this.#streaks.get(subject)?.count ?? 0;
    this.#streaks.delete(subject);
    return count;
  }
}

/**
 * The log level for a failure: the first of a streak at `level`, a change of cause at info (still
 * visible, but not a new alarm), a repeat at debug.
 */
export function levelFor(recurrence: Recurrence, level: 'warn' | 'error'): 'warn' | 'error' | 'info' | 'debug' {
  return recurrence === 'first' ? level : recurrence === 'changed' ? 'info' : 'debug';
}
