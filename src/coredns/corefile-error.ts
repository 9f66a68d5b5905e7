/**
 * A Corefile we must not edit. Its kind matches the controller's error kinds: 'Invalid' means
 * retrying cannot help until a person fixes the Corefile, so the sink reports it and gives up.
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
