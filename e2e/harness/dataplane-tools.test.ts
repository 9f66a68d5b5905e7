/**
 * dataplaneTools(): when a Data Plane API suite skips, and when HAIRPIN_REQUIRE_DATAPLANEAPI=1
 * turns that skip into a failure. The binaries come through HAIRPIN_TOOL_* overrides here, so no
 * hack/tools runs (e2e/local/dataplaneapi-pin.int.test.ts drives hack/tools itself).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataplaneTools, REQUIRE_DATAPLANEAPI_VARIABLE } from './dataplane.js';
import { isToolUnavailable, ToolError } from './tools.js';

const VARIABLES = ['HAIRPIN_TOOL_HAPROXY', 'HAIRPIN_TOOL_SOCAT', 'HAIRPIN_TOOL_DATAPLANEAPI', REQUIRE_DATAPLANEAPI_VARIABLE] as const;
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
let dir: string;
let executable: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hp-dataplane-tools-'));
  executable = join(dir, 'tool');
  writeFileSync(executable, '#!/bin/sh\nexit 0\n');
  chmodSync(executable, 0o755);
  process.env.HAIRPIN_TOOL_HAPROXY = executable;
  process.env.HAIRPIN_TOOL_SOCAT = executable;
  // CI's test job sets it for the whole run: each test here decides.
  Reflect.deleteProperty(process.env, REQUIRE_DATAPLANEAPI_VARIABLE);
});
afterEach(() => {
  Reflect.deleteProperty(process.env, REQUIRE_DATAPLANEAPI_VARIABLE);
});
afterAll(() => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = saved[name];
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('dataplaneTools', () => {
  it('finds the three binaries', async () => {
    process.env.HAIRPIN_TOOL_DATAPLANEAPI = executable;
    await expect(dataplaneTools()).resolves.toEqual({ ok: true, haproxy: executable, dataplaneapi: executable });
  });

  it('reports why the Data Plane API is missing, for the suite to skip with', async () => {
    process.env.HAIRPIN_TOOL_DATAPLANEAPI = join(dir, 'absent');
    await expect(dataplaneTools()).resolves.toEqual({ ok: false, reason: `dataplaneapi: ${join(dir, 'absent')} is not an executable file` });
  });

  it('with HAIRPIN_REQUIRE_DATAPLANEAPI=1, rejects with that reason instead', async () => {
    process.env.HAIRPIN_TOOL_DATAPLANEAPI = join(dir, 'absent');
    process.env[REQUIRE_DATAPLANEAPI_VARIABLE] = '1';
    await expect(dataplaneTools()).rejects.toThrow(
      `HAIRPIN_REQUIRE_DATAPLANEAPI=1: the Data Plane API suites must run here, but they would skip: dataplaneapi: ${join(dir, 'absent')} is not an executable file`,
    );
  });

  it('with HAIRPIN_REQUIRE_DATAPLANEAPI=1 and the binaries there, finds them as before', async () => {
    process.env.HAIRPIN_TOOL_DATAPLANEAPI = executable;
    process.env[REQUIRE_DATAPLANEAPI_VARIABLE] = '1';
    await expect(dataplaneTools()).resolves.toMatchObject({ ok: true });
  });

  it('any other value than 1 leaves skipping as it was', async () => {
    process.env.HAIRPIN_TOOL_DATAPLANEAPI = join(dir, 'absent');
    process.env[REQUIRE_DATAPLANEAPI_VARIABLE] = '0';
    await expect(dataplaneTools()).resolves.toMatchObject({ ok: false });
  });
});

describe('isToolUnavailable', () => {
  it("is hack/tools's exit 3 and nothing else, whatever realm the error comes from", () => {
    expect(isToolUnavailable(new ToolError('refused', 3))).toBe(true);
    expect(isToolUnavailable({ message: 'from another realm', exitCode: 3 })).toBe(true);
    expect(isToolUnavailable(new ToolError('version mismatch', 1))).toBe(false);
    expect(isToolUnavailable(new Error('plain'))).toBe(false);
    expect(isToolUnavailable(undefined)).toBe(false);
    expect(isToolUnavailable('exit 3')).toBe(false);
  });
});
