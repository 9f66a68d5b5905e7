import { describe, expect, it } from '@jest/globals';
import { levelFor, RepeatFilter } from './repeats.js';

describe('RepeatFilter', () => {
  it('tells the first failure of a streak from a change of cause and from a repeat', () => {
    const filter = new RepeatFilter();
    expect(['refused', 'refused', 'timeout', 'timeout', 'refused'].map((s) => filter.failed('coredns', s))).toEqual([
      'first', 'repeat', 'changed', 'repeat', 'changed',
    ]);
  });

  it('keeps subjects apart', () => {
    const filter = new RepeatFilter();
    expect(filter.failed('a', 'refused')).toBe('first');
    expect(filter.failed('b', 'refused')).toBe('first');
    expect(filter.failed('a', 'refused')).toBe('repeat');
  });

  it('counts the streak a success ends, and starts afresh after it', () => {
    const filter = new RepeatFilter();
    expect(filter.succeeded('a')).toBe(0);
    filter.failed('a', 'refused');
    filter.failed('a', 'refused');
    filter.failed('a', 'timeout');
    expect(filter.succeeded('a')).toBe(3);
    expect(filter.succeeded('a')).toBe(0);
    expect(filter.failed('a', 'timeout')).toBe('first');
  });
});

describe('levelFor', () => {
  it.each([
    ['first', 'error', 'error'],
    ['first', 'warn', 'warn'],
    ['changed', 'error', 'info'],
    ['repeat', 'warn', 'debug'],
  ] as const)('%s failure, reported at %s: %s', (recurrence, level, expected) => {
    expect(levelFor(recurrence, level)).toBe(expected);
  });
});
