/**
 * Tells a new finding from a repeat, so that a failure is reported when it appears or changes and
 * once when it ends, not on every retry: an apiserver outage is one warning, not one per second.
 */
export class RepeatFilter<K = string> {
  readonly #streaks = new Map<K, { signature: string; count: number }>();

  /** Records a failure of subject; true when it is new (the first, or unlike the last one). */
  failed(subject: K, signature: string): boolean {
    const streak = this.#streaks.get(subject);
    if (streak?.signature === signature) {
      streak.count += 1;
      return false;
    }
    this.#streaks.set(subject, { signature, count: (streak?.count ?? 0) + 1 });
    return true;
  }

  /** Ends subject's streak; returns how many failures it had (0: it was not failing). */
  succeeded(subject: K): number {
    const count = this.#streaks.get(subject)?.count ?? 0;
    this.#streaks.delete(subject);
    return count;
  }
}
