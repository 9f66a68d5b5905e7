import { describe, expect, it } from '@jest/globals';
import { RepeatFilter } from './repeats.js';

describe('RepeatFilter', () => {
  it('reports a failure when it appears and when it changes, not when it repeats', () => {
    const filter = new RepeatFilter();
    expect(['refused', 'refused', 'refused', 'timeout', 'timeout', 'refused'].map((s) => filter.failed('coredns', s))).toEqual([
      true, false, false, true, false, true,
    ]);
  });

  it('keeps subjects apart', () => {
    const filter = new RepeatFilter();
    expect(filter.failed('a', 'refused')).toBe(true);
    expect(filter.failed('b', 'refused')).toBe(true);
    expect(filter.failed('a', 'refused')).toBe(false);
  });

  it('counts the streak a success ends, and reports the next failure afresh', () => {
    const filter = new RepeatFilter();
    expect(filter.succeeded('a')).toBe(0);
    filter.failed('a', 'refused');
    filter.failed('a', 'refused');
    filter.failed('a', 'timeout');
    expect(filter.succeeded('a')).toBe(3);
    expect(filter.succeeded('a')).toBe(0);
    expect(filter.failed('a', 'timeout')).toBe(true);
  });
});
