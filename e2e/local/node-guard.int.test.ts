/**
 * The built CLI on a Node.js older than 24 (this machine's own Node 20, where there is one): one
 * line naming both versions and exit 1, before any import can fail with a stack trace.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt } from '../harness/build.js';
import { REPO_ROOT } from '../harness/index.js';

const older = ['/usr/bin/node', '/usr/local/bin/node']
  .map((path) => ({ path, version: spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '' }))
  .find(({ version }) => /^v\d+\./.test(version) && Number(version.slice(1).split('.')[0]) < 24);
if (!older) console.warn('node guard test skipped: no Node.js older than 24 at /usr/bin/node or /usr/local/bin/node');

(older ? describe : describe.skip)(`hairpin-proxy on ${older?.version ?? 'an older Node.js'}`, () => {
  it.each([['help'], ['--version'], ['run', '--once']])('%s: one line naming the versions, exit 1', (...argv) => {
    ensureBuilt();
    const result = spawnSync(older?.path ?? '', [join(REPO_ROOT, 'dist/cli.js'), ...argv], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`hairpin-proxy needs Node.js 24 or newer; this is Node.js ${older?.version.slice(1) ?? ''}\n`);
  });
});
