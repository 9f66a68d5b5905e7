/**
 * The kind e2e's time budget. Every command and wait in the suite is bounded: exec() kills a
 * command past its bound, and waitFor() gives up past its timeout, after at most one more attempt
 * and one interval. A jest hook or test must outlast the worst case of everything inside it, plus
 * the diagnostics explained() gathers on a failure; otherwise jest abandons it half-way and the
 * failure arrives without them (and afterAll may delete the cluster before anyone looked). The CI
 * job's step and job limits must in turn outlast the whole suite: e2e/local/workflows.int.test.ts
 * checks .github/workflows/ci.yml against SUITE_MS.
 *
 * The sums are worst cases, far above a normal run (about 10 minutes on GitHub's runners).
 */
import { INSTALL_MS } from './addons.js';
import { ADD_DNS_RECORDS_MS, BOUNDS, DIAGNOSTICS_MS, waitBound } from './cluster.js';
import { OUTSIDE_LOGS_MS, OUTSIDE_MS } from './outside.js';

export const MINUTE = 60_000;

/** On top of each sum: jest's own work, the test's arithmetic, testcontainers' API calls. */
const SLACK_MS = 2 * MINUTE;

/** How long, from its creation, the Certificate must stay not Ready without the controller. */
export const WITHOUT_CONTROLLER_MS = 120_000;

/** The suite's own waits (waitFor options; each attempt is one bounded kubectl command). */
export const WAITS = {
  issuerAccepted: { timeoutMs: 120_000, intervalMs: 3_000 },
  challengeEof: { timeoutMs: 4 * MINUTE, intervalMs: 5_000 },
  /** The not-Ready poll's sleep, between kubectl commands, until WITHOUT_CONTROLLER_MS. */
  notReadyPollMs: 5_000,
  corefileBlock: { timeoutMs: 120_000, intervalMs: 2_000 },
  /** From the controller's start: kubelet's ConfigMap refresh (60-90 s) + CoreDNS reload (≤ 30 s) + retries. */
  certificateReady: { timeoutMs: 5 * MINUTE, intervalMs: 5_000 },
  /** After the uninstall: the garbage collector takes the cleanup identity's Role and ServiceAccount. */
  cleanupGone: { timeoutMs: 60_000, intervalMs: 2_000 },
} as const;

/** `kubectl delete -k … --wait --timeout`: the namespace's deletion, after each pod's removal cleanup. */
export const UNINSTALL_DELETE_MS = 5 * MINUTE;

const waited = (wait: { timeoutMs: number; intervalMs: number }): number => waitBound(wait.timeoutMs, BOUNDS.kubectl, wait.intervalMs);

/** What explained() adds before rethrowing a failure: the cluster's state, the outside containers' logs. */
export const FAILURE_REPORT_MS = DIAGNOSTICS_MS + OUTSIDE_LOGS_MS;

/** Each jest hook's and test's timeout: the worst case of its body, a failure report, slack. */
export const TIMEOUTS = {
  beforeAll:
    Math.max(BOUNDS.createCluster, BOUNDS.buildImage) + // side by side
    BOUNDS.loadImage +
    Math.max(INSTALL_MS.metalLb, INSTALL_MS.ingressNginx, INSTALL_MS.certManager) + // side by side
    OUTSIDE_MS + // its image pulls run beside the cluster's creation, counted here all the same
    ADD_DNS_RECORDS_MS +
    2 * BOUNDS.kubectl + // the Corefile before, deploy/base
    waited(WAITS.issuerAccepted) +
    BOUNDS.shortRollout + // kubectl wait clusterissuer/pebble
    FAILURE_REPORT_MS +
    SLACK_MS,
  withoutController:
    2 * BOUNDS.kubectl + // the Corefile, the Certificate
    waited(WAITS.challengeEof) +
    WITHOUT_CONTROLLER_MS +
    BOUNDS.kubectl +
    WAITS.notReadyPollMs + // the last poll may start just before the end
    FAILURE_REPORT_MS +
    SLACK_MS,
  withController:
    BOUNDS.kubectl + // scale
    BOUNDS.shortRollout + // kubectl wait --for=condition=Ready on the HAProxy pods
    waited(WAITS.corefileBlock) +
    waited(WAITS.certificateReady) +
    BOUNDS.kubectl + // the Secret
    FAILURE_REPORT_MS +
    SLACK_MS,
  uninstall:
    UNINSTALL_DELETE_MS +
    BOUNDS.kubectl + // kubectl's own start-up on top of its --timeout
    BOUNDS.kubectl + // the Corefile
    waited(WAITS.cleanupGone) +
    FAILURE_REPORT_MS +
    SLACK_MS,
  afterAll:
    OUTSIDE_LOGS_MS + // kept on a failure
    BOUNDS.exportLogs + // kept on a failure
    BOUNDS.deleteCluster +
    3 * 30_000 + // stopping the outside containers (Docker's stop timeout, 10 s, and removal)
    SLACK_MS,
} as const;

/** The whole suite, hooks and tests one after the other. */
export const SUITE_MS = Object.values(TIMEOUTS).reduce((a, b) => a + b, 0);
