/**
 * `npm run demo` (hack/demo.sh runs this with tsx): the hairpin story with real processes, step
 * by step in plain words with timings. `--json` adds the result as the last line of stdout.
 * Needs root (network namespaces); everything it starts is torn down on success, failure, Ctrl-C.
 */
import { attachLogTails, canUseNetns, cleanupAll } from '../harness/index.js';
import { CERT_MANAGER_SELF_CHECK } from './self-check.js';
import { runStory, type StoryOptions, type StoryResult } from './story.js';
import type { StorySource } from './upstream.js';

const USAGE = 'usage: npm run demo [-- [--source ingress|gateway] [--json]]';

const started = Date.now();
const say = (line: string): void => {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
};

/** Faster than cert-manager where waiting proves nothing; the count of passes stays 5. */
const DEMO_TIMINGS: Omit<StoryOptions, 'say' | 'source'> = {
  passIntervalMs: 500,
  retryIntervalMs: 5_000,
  withoutControllerGiveUpMs: 15_000,
  withControllerTimeoutMs: 60_000,
};

function summary(result: StoryResult): string {
  const before = result.without_controller;
  const after = result.with_controller;
  return [
    // cert-manager's message ends with the cause: "…: EOF".
    `Without hairpin-proxy: self-check ${before.self_check} (${before.self_check_error?.split(': ').at(-1) ?? 'no error'}), certificate ${before.certificate}.`,
    `With hairpin-proxy: hairpin HAProxy ${haproxySummary(after)}; self-check ${after.self_check}, certificate ${after.certificate} ${after.seconds_to_certificate}s after the controller started.`,
    `Uninstall: Corefile ${result.cleanup.corefile_restored ? 'restored byte for byte' : 'NOT restored'}; ${result.cleanup.hairpin_services_left} hairpin Services, ` +
      `${result.cleanup.processes_left} processes and ${result.cleanup.namespaces_left} namespaces left. Total ${result.total_seconds}s.`,
  ].join('\n');
}

function haproxySummary(after: StoryResult['with_controller']): string {
  if (after.haproxy_configured_by !== 'dataplane-api') return `from a ${after.haproxy_configured_by}`;
  return `configured by the controller through its Data Plane API ${after.seconds_to_haproxy}s after it started (${after.haproxy_routes})`;
}

let interrupted = false;

/** Ctrl-C or a TERM mid-story: tear everything down, then leave with the conventional code. */
function stopOnSignals(): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`\n${signal}: tearing down the processes and namespaces…\n`);
      cleanupAll()
        .catch((error: unknown) => process.stderr.write(`${String(error)}\n`))
        .finally(() => process.exit(code));
    });
  }
}

/** `--source gateway`: the host comes from an HTTPRoute and its upstream expects PROXY v2. */
function parseArgs(argv: readonly string[]): { json: boolean; source: StorySource } | undefined {
  const args = [...argv];
  const json = args.includes('--json');
  const at = args.indexOf('--source');
  const source = at === -1 ? 'ingress' : args[at + 1];
  const known = args.filter((arg, index) => arg !== '--json' && index !== at && index !== at + 1);
  return known.length === 0 && (source === 'ingress' || source === 'gateway') ? { json, source } : undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (!args) {
    process.stderr.write(`unknown arguments ${argv.join(' ')}\n${USAGE}\n`);
    return 2;
  }
  const netns = await canUseNetns();
  if (!netns.ok) {
    process.stderr.write(`npm run demo needs network namespaces: ${netns.reason}\n`);
    return 1;
  }
  stopOnSignals();
  say(
    `The hairpin story. cert-manager's self-check needs ${CERT_MANAGER_SELF_CHECK.requiredPasses} passes in a row; ` +
      `this demo spaces them ${DEMO_TIMINGS.passIntervalMs} ms apart (cert-manager: 2 s) and retries a failed check every ` +
      `${DEMO_TIMINGS.retryIntervalMs / 1000} s (cert-manager: ~10 s).`,
  );
  try {
    const result = await runStory({ say, source: args.source, ...DEMO_TIMINGS });
    process.stdout.write(`\n${summary(result)}\n`);
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (error) {
    if (interrupted) return 1; // the signal handler is tearing down and will exit
    process.stderr.write(`\nThe story failed: ${String((attachLogTails(error) as Error).stack ?? error)}\n`);
    await cleanupAll().catch((cleanupError: unknown) => process.stderr.write(`${String(cleanupError)}\n`));
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
