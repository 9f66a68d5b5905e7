/**
 * hack/tools and the Data Plane API pin (DATAPLANEAPI_VERSION, DATAPLANEAPI_COMMIT): whatever it
 * adopts (HAIRPIN_DATAPLANEAPI_BIN) or finds in its cache must say, on stdout, that it is the
 * pinned version; stderr (automaxprocs' "maxprocs: Leaving GOMAXPROCS=…") is never read; a
 * mismatch fails naming both versions. HAIRPIN_REQUIRE_DATAPLANEAPI=1 makes "not obtainable" loud
 * in hack/tools and a failure in the test harness. Each case runs the real hack/tools against its
 * own temp cache, with fake dataplaneapi scripts: no build, no network.
 */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, dataplaneTools, makeTmpDir, pin, REPO_ROOT, toolEnvName } from '../harness/index.js';

const TAG = pin('DATAPLANEAPI_VERSION');
const COMMIT = pin('DATAPLANEAPI_COMMIT');
/** The cache slot hack/tools keeps the binary in: bin/dataplaneapi-<first 12 hex of the commit>. */
const SLOT = `dataplaneapi-${COMMIT.slice(0, 12)}`;
const OTHER_TAG = 'v0.0.0';
const OTHER_COMMIT = 'deadbeefcafe';
const PINNED = `hack/versions.env pins ${TAG} (commit ${COMMIT.slice(0, 12)})`;
/** What the real binary logs to stderr before anything else (automaxprocs, automemlimit). */
const NOISE = ['2026/12/02 13:38:52 maxprocs: Leaving GOMAXPROCS=2: CPU quota undefined', '2026/12/02 13:38:52 INFO memory is not limited, skipping'];

const root = makeTmpDir('dataplaneapi-pin');
let serial = 0;

interface Fake {
  readonly path: string;
  /** How many times it has run. */
  runs(): number;
}

/** A dataplaneapi that prints `stdout` for --version, after stderr noise, counting its runs. */
function fake(stdout: string, stderr: readonly string[] = NOISE): Fake {
  const dir = join(root, `fake-${++serial}`);
  mkdirSync(dir);
  const path = join(dir, 'dataplaneapi');
  const counter = join(dir, 'runs');
  writeFileSync(counter, '');
  const lines = (text: readonly string[]) => text.map((line) => `printf '%s\\n' '${line}'`).join('\n');
  writeFileSync(path, `#!/bin/sh\necho run >>'${counter}'\n{\n${lines(stderr)}\n} >&2\n${lines(stdout.split('\n'))}\n`);
  chmodSync(path, 0o755);
  return { path, runs: () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length };
}

/** What --version prints: the first line as dataplaneapi's main.go formats it, then build lines. */
const versionOutput = (tag: string, commit: string): string => `HAProxy Data Plane API ${tag} ${commit}\n\nBuild from: github.com/haproxytech/dataplaneapi\nBuild date: 2026-12-02T00:00:00Z\n`;

function newCache(): string {
  const cache = join(root, `cache-${++serial}`);
  mkdirSync(join(cache, 'bin'), { recursive: true });
  mkdirSync(join(cache, 'state'), { recursive: true });
  return cache;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function hackTools(args: readonly string[], env: Readonly<Record<string, string>>): Promise<Run> {
  const clean = { ...process.env };
  for (const name of ['HAIRPIN_DATAPLANEAPI_BIN', 'HAIRPIN_REQUIRE_DATAPLANEAPI', 'HAIRPIN_TOOLS_RETRY']) Reflect.deleteProperty(clean, name);
  return new Promise((resolve) => {
    execFile(join(REPO_ROOT, 'hack/tools'), [...args], { env: { ...clean, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr });
    });
  });
}

const adopt = (binary: string, extra: Readonly<Record<string, string>> = {}) =>
  hackTools(['path', 'dataplaneapi'], { HAIRPIN_TOOLS_CACHE: newCache(), HAIRPIN_DATAPLANEAPI_BIN: binary, ...extra });

afterAll(() => cleanupAll());

describe('hack/tools: the Data Plane API it adopts must be the pinned version', () => {
  it('the test values are not the pin', () => {
    expect(TAG).not.toBe(OTHER_TAG);
    expect(COMMIT.startsWith(OTHER_COMMIT)).toBe(false);
  });

  it.each([
    ['tag and short commit, as the official build prints them', versionOutput(TAG, COMMIT.slice(0, 8))],
    ['tag and full commit', versionOutput(TAG, COMMIT)],
    ['commit only (built without the tag flag)', versionOutput('', COMMIT.slice(0, 8))],
    ['tag only (built without the commit flag)', versionOutput(TAG, '')],
    ['a commit past the last tag, marked .dev by the Makefile', versionOutput(TAG, `${COMMIT.slice(0, 8)}.dev`)],
  ])('adopts a binary that says %s', async (_what, output) => {
    const binary = fake(output);
    const run = await adopt(binary.path);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout.trim()).toMatch(new RegExp(`/bin/${SLOT}$`));
    expect(run.stderr).toContain(`dataplaneapi ${COMMIT.slice(0, 12)}: adopted`);
  });

  it.each([
    ['another tag and commit', versionOutput(OTHER_TAG, OTHER_COMMIT.slice(0, 8)), `${OTHER_TAG} ${OTHER_COMMIT.slice(0, 8)}`],
    ['the pinned tag at another commit', versionOutput(TAG, OTHER_COMMIT.slice(0, 8)), `${TAG} ${OTHER_COMMIT.slice(0, 8)}`],
    ['the pinned commit under another tag', versionOutput(OTHER_TAG, COMMIT.slice(0, 8)), `${OTHER_TAG} ${COMMIT.slice(0, 8)}`],
    ['a tag that merely starts like the pinned one', versionOutput(`${TAG}1`, ''), `${TAG}1`],
    ['a commit too short to name anything', versionOutput('', COMMIT.slice(0, 4)), COMMIT.slice(0, 4)],
    ['the pinned commit built from a modified tree', versionOutput(TAG, `${COMMIT.slice(0, 8)}.dirty`), '.dirty'],
    ['no version at all (a plain go install)', versionOutput('', ''), "says 'HAProxy Data Plane API  '"],
    ['nothing on stdout', '', '(nothing on stdout)'],
  ])('refuses a binary that says %s, naming both versions', async (_what, output, shown) => {
    const binary = fake(output);
    const run = await adopt(binary.path);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('FAILED: dataplaneapi:');
    expect(run.stderr).toContain(shown);
    expect(run.stderr).toContain(PINNED);
    expect(run.stdout).toBe('');
  });

  it('reads stdout only: the pinned version on stderr does not make a wrong binary right', async () => {
    const binary = fake(versionOutput(OTHER_TAG, OTHER_COMMIT.slice(0, 8)), [`HAProxy Data Plane API ${TAG} ${COMMIT.slice(0, 8)}`]);
    const run = await adopt(binary.path);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`says 'HAProxy Data Plane API ${OTHER_TAG} ${OTHER_COMMIT.slice(0, 8)}'`);
  });

  it('a binary whose --version fails is refused, naming the pin', async () => {
    const dir = join(root, 'broken');
    mkdirSync(dir);
    const path = join(dir, 'dataplaneapi');
    writeFileSync(path, '#!/bin/sh\necho "flag provided but not defined" >&2\nexit 2\n');
    chmodSync(path, 0o755);
    const run = await adopt(path);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`'${path} --version' failed (exit 2); ${PINNED}`);
  });
});

describe('hack/tools: a cached Data Plane API is checked too', () => {
  it('a wrong binary in the cache slot fails `path`; the right one passes, and is checked once', async () => {
    const cache = newCache();
    const slot = join(cache, 'bin', SLOT);
    const wrong = fake(versionOutput(OTHER_TAG, OTHER_COMMIT.slice(0, 8)));
    writeFileSync(slot, readFileSync(wrong.path));
    chmodSync(slot, 0o755);

    const refused = await hackTools(['path', 'dataplaneapi'], { HAIRPIN_TOOLS_CACHE: cache });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${slot} is not the pinned Data Plane API: its --version says 'HAProxy Data Plane API ${OTHER_TAG} ${OTHER_COMMIT.slice(0, 8)}', ${PINNED}`);

    // A new file in the slot (another inode): checked afresh, then remembered.
    const right = fake(versionOutput(TAG, COMMIT.slice(0, 8)));
    writeFileSync(`${slot}.new`, readFileSync(right.path));
    chmodSync(`${slot}.new`, 0o755);
    renameSync(`${slot}.new`, slot);
    for (let i = 0; i < 3; i++) {
      const run = await hackTools(['path', 'dataplaneapi'], { HAIRPIN_TOOLS_CACHE: cache });
      expect(run).toMatchObject({ code: 0, stdout: `${slot}\n` });
    }
    expect(right.runs()).toBe(1); // the copy in the slot logs to the fake's own counter
    expect(existsSync(join(cache, 'state', `verified-${SLOT}`))).toBe(true);
  });
});

describe('HAIRPIN_REQUIRE_DATAPLANEAPI=1', () => {
  /** A cache where the Go module proxy refused the pinned commit a moment ago. */
  function refusedCache(): string {
    const cache = newCache();
    writeFileSync(join(cache, 'state', `unavailable-${SLOT}`), '');
    return cache;
  }

  it('without it, a refused Data Plane API is "not obtainable" (exit 3), quietly', async () => {
    const run = await hackTools(['path', 'dataplaneapi'], { HAIRPIN_TOOLS_CACHE: refusedCache() });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('not obtainable on this machine');
    expect(run.stderr).not.toContain('REQUIRED');
  });

  it('with it, hack/tools says loudly that it is required and how to provide it', async () => {
    const run = await hackTools(['path', 'dataplaneapi'], { HAIRPIN_TOOLS_CACHE: refusedCache(), HAIRPIN_REQUIRE_DATAPLANEAPI: '1' });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('dataplaneapi: REQUIRED here (HAIRPIN_REQUIRE_DATAPLANEAPI=1) but not obtainable');
    expect(run.stderr).toContain(`HAIRPIN_DATAPLANEAPI_BIN to a dataplaneapi ${TAG} binary`);
  });

  describe('the test harness, through hack/tools', () => {
    const saved = { ...process.env };
    const restore = () => {
      for (const name of ['HAIRPIN_TOOLS_CACHE', 'HAIRPIN_REQUIRE_DATAPLANEAPI', toolEnvName('dataplaneapi'), toolEnvName('haproxy'), toolEnvName('socat')]) {
        if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = saved[name];
      }
    };
    afterEach(restore);

    /** dataplaneTools() with hack/tools answering from `cache` (haproxy and socat given directly). */
    function harnessOn(cache: string, require: boolean): ReturnType<typeof dataplaneTools> {
      const any = fake('');
      process.env.HAIRPIN_TOOLS_CACHE = cache;
      process.env[toolEnvName('haproxy')] = any.path;
      process.env[toolEnvName('socat')] = any.path;
      Reflect.deleteProperty(process.env, toolEnvName('dataplaneapi'));
      if (require) process.env.HAIRPIN_REQUIRE_DATAPLANEAPI = '1';
      else delete process.env.HAIRPIN_REQUIRE_DATAPLANEAPI;
      return dataplaneTools();
    }

    it('skips a suite when the registry refused the Data Plane API', async () => {
      await expect(harnessOn(refusedCache(), false)).resolves.toEqual({
        ok: false,
        reason: expect.stringContaining('hack/tools path dataplaneapi not obtainable on this machine (exit 3)'),
      });
    });

    it('fails it instead under HAIRPIN_REQUIRE_DATAPLANEAPI=1, with the reason', async () => {
      await expect(harnessOn(refusedCache(), true)).rejects.toThrow(
        /HAIRPIN_REQUIRE_DATAPLANEAPI=1: the Data Plane API suites must run here, but they would skip: hack\/tools path dataplaneapi not obtainable on this machine \(exit 3\)/,
      );
    });

    it('fails it, required or not, when the cached binary is not the pinned version', async () => {
      const cache = newCache();
      const wrong = fake(versionOutput(OTHER_TAG, OTHER_COMMIT.slice(0, 8)));
      writeFileSync(join(cache, 'bin', SLOT), readFileSync(wrong.path));
      chmodSync(join(cache, 'bin', SLOT), 0o755);
      await expect(harnessOn(cache, false)).rejects.toThrow(/the Data Plane API suites cannot run: hack\/tools path dataplaneapi failed \(exit 1\): .*is not the pinned Data Plane API/s);
    });
  });
});
