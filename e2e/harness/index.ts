/** The shared integration-test harness: real processes, bounded waits, cleanup even on failure. */
export * from './controller.js';
export * from './controlplane.js';
export * from './coredns.js';
export * from './dataplane.js';
export * from './dataplane-client.js';
export * from './faults.js';
export * from './haproxy-forwarder.js';
export * from './live-update.js';
export * from './load.js';
export * from './nginx.js';
export * from './netns.js';
export * from './ports.js';
export * from './processes.js';
export * from './seed.js';
export * from './tmp.js';
export * from './tools.js';
export * from './corefile-text.js';
