import { describe, expect, it } from '@jest/globals';
import { captureLogger } from '../testing/fakes.js';
import { Removal } from './removal.js';

/** A removal whose steps are recorded; `removing` answers whether the install is being deleted. */
function removal(removing: boolean, options: { failCleanUp?: boolean; slowCleanUp?: boolean } = {}) {
  const steps: string[] = [];
  const { log, lines } = captureLogger();
  const subject = new Removal({
    removing: async () => {
      steps.push('ask');
      return removing;
    },
    cleanUp: async () => {
      steps.push('clean up');
      if (options.slowCleanUp) await new Promise((resolve) => setTimeout(resolve, 200));
      if (options.failCleanUp) throw new Error('apiserver gone');
    },
    release: async () => {
      steps.push('release');
    },
    log,
  });
  return { subject, steps, lines };
}

describe('the removal cleanup, once the run loop has stopped', () => {
  it('does nothing on a rollout, a drain or a restart: the install is not being deleted', async () => {
    const { subject, steps } = removal(false);
    expect(await subject.finish(1_000)).toBe(false);
    expect(steps).toEqual(['ask']);
  });

  it('cleans up, then lets the cleanup identity go', async () => {
    const { subject, steps } = removal(true);
    expect(await subject.finish(1_000)).toBe(true);
    expect(steps).toEqual(['ask', 'clean up', 'release']);
  });

  it('keeps the cleanup identity when the cleanup fails, and says how to finish by hand', async () => {
    const { subject, steps, lines } = removal(true, { failCleanUp: true });
    expect(await subject.finish(1_000)).toBe(false);
    expect(steps).not.toContain('release');
    expect(lines().some((line) => String(line.msg).includes('hairpin-proxy uninstall'))).toBe(true);
  });

  it('gives up at the deadline (the pod\'s termination grace), saying so', async () => {
    const { subject, lines } = removal(true, { slowCleanUp: true });
    expect(await subject.finish(20)).toBe(false);
    expect(lines().some((line) => String(line.msg).includes('removal cleanup failed'))).toBe(true);
  });
});
