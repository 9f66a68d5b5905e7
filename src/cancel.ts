/**
 * Work stopped on purpose through its AbortSignal: the leader lost its Lease, or the controller is
 * shutting down. Not a failure: nothing is retried, counted as an error, or reported.
 */
export class Cancelled extends Error {
  constructor(why: string) {
    super(`cancelled: ${why}`);
    this.name = 'Cancelled';
  }
}

export function isCancelled(error: unknown): error is Cancelled {
  return error instanceof Cancelled;
}
