import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { envName, FLAGS } from './config.js';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it.each(FLAGS.map((flag) => [flag.name, envName(flag.name)]))('documents --%s and %s', (flag, env) => {
    expect(readme).toContain(`\`--${flag}\``);
    expect(readme).toContain(`\`${env}\``);
  });

  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
  });
});
