export { WorkQueue, type RetryClass, type SyncFunction, type SyncPacing, type WorkQueueOptions, type SyncResult } from './work-queue.js';
export { systemClock, type Clock } from './clock.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export type { RateLimitOptions } from './token-bucket.js';
