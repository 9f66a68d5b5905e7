import { describe, it, expect } from '@jest/globals';
import { FakeClock } from './fake-clock.js';

describe('FakeClock', () => {
  it('fires due timers by due time, then scheduling order, each at its due time', async () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    const at = (name: string) => () => fired.push(`${name}@${clock.now()}`);
    clock.setTimeout(at('c'), 30);
    clock.setTimeout(at('a'), 10);
    clock.setTimeout(at('b'), 10);
    clock.setTimeout(at('late'), 31);
    await clock.advance(30);
    expect(fired).toEqual(['a@1010', 'b@1010', 'c@1030']);
    expect(clock.now()).toBe(1030);
    expect(clock.pending).toBe(1);
  });

  it('does not fire cleared timers', async () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 5);
    clock.clearTimeout(handle);
    await clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('settles promises between timers, so async code can chain timers', async () => {
    const clock = new FakeClock();
    const steps: number[] = [];
    const work = async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        await Promise.resolve();
        steps.push(clock.now());
      }
    };
    const done = work();
    await clock.advance(25);
    expect(steps).toEqual([10, 20]);
    await clock.advance(5);
    expect(steps).toEqual([10, 20, 30]);
    await done;
  });

  it('fails loudly on a timer that reschedules itself without delay', async () => {
    const clock = new FakeClock();
    const spin = () => clock.setTimeout(spin, 0);
    spin();
    await expect(clock.advance(1)).rejects.toThrow(/timers fired/);
  });
});
