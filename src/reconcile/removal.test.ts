import { describe, expect, it } from '@jest/globals';
import { captureLogger } from '../testing/fakes.js';
import { Removal } from './removal.js';
import type { Leadership } from './runner.js';

/** A removal whose "is the install being deleted?" answers come from a list, one per ask. */
function removal(answers: boolean[], options: { failCleanUp?: boolean; leadership?: Leadership } = {}) {
  const steps: string[] = [];
  const { log, lines } = captureLogger();
  const subject = new Removal({
    removing: async () => {
      steps.push('ask');
      return answers.shift() ?? false;
    },
    cleanUp: async () => {
      steps.push('clean up');
      if (options.failCleanUp) throw new Error('apiserver gone');
    },
    release: async () => {
      steps.push('release');
    },
    ...(options.leadership ? { leadership: options.leadership } : {}),
    log,
    pollMs: 5,
  });
  return { subject, steps, lines };
}

function recordingLeadership(steps: string[]): Leadership {
  return {
    lead: async () => {
      steps.push('lead');
      return new AbortController().signal;
    },
    release: async () => {
      steps.push('hand back the lease');
    },
  };
}

describe('the removal cleanup', () => {
  it('does nothing on a rollout or a restart: the Deployment is not being deleted', async () => {
    const { subject, steps } = removal([false]);
    expect(await subject.finish(1_000)).toBe(false);
    expect(steps).toEqual(['ask']);
  });

  it('cleans up, then releases, under the lease, so no leader writes after the cleanup', async () => {
    const steps: string[] = [];
    const { subject, steps: own } = removal([true, true], { leadership: recordingLeadership(steps) });
    const finished = await subject.finish(1_000);
    expect(finished).toBe(true);
    expect(own.filter((s) => s !== 'ask')).toEqual(['clean up', 'release']);
    expect(steps).toEqual(['lead', 'hand back the lease']);
  });

  it('leaves it to the replica that finished first, asking again once it holds the lease', async () => {
    const { subject, steps } = removal([true, false], { leadership: recordingLeadership([]) });
    expect(await subject.finish(1_000)).toBe(false);
    expect(steps).toEqual(['ask', 'ask']);
  });

  it('keeps the finalizers when the cleanup fails, and says how to finish by hand', async () => {
    const { subject, steps, lines } = removal([true, true], { failCleanUp: true });
    expect(await subject.finish(1_000)).toBe(false);
    expect(steps).not.toContain('release');
    expect(lines().some((line) => String(line.msg).includes('hairpin-proxy uninstall'))).toBe(true);
  });

  it('watch() aborts its signal once the deletion is seen, so the run loop stops writing', async () => {
    const { subject } = removal([false, false, true]);
    const stop = new AbortController();
    const detected = subject.watch(stop.signal);
    await new Promise<void>((resolve) => detected.addEventListener('abort', () => resolve(), { once: true }));
    expect(detected.aborted).toBe(true);
    stop.abort();
  });
});
