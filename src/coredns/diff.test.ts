import { describe, expect, it } from '@jest/globals';
import { lineDiff } from './diff.js';

describe('lineDiff', () => {
  it('is empty when nothing changed', () => {
    expect(lineDiff('a\nb\n', 'a\nb\n')).toBe('');
  });

  it('shows an inserted block with one line of context', () => {
    expect(lineDiff('.:53 {\n    errors\n}\n', '.:53 {\n    # BEGIN\n    # END\n    errors\n}\n')).toBe(
      ['@@ line 1 @@', '  .:53 {', '+     # BEGIN', '+     # END', '      errors'].join('\n'),
    );
  });

  it('shows replaced lines', () => {
    expect(lineDiff('x\nold\ny', 'x\nnew\ny', 0)).toBe(['@@ line 2 @@', '- old', '+ new'].join('\n'));
  });
});
