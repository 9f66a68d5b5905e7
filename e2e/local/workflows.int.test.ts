/**
 * The GitHub Actions workflows (.github/workflows/*.yml), which only run on GitHub, checked here:
 * actionlint (the pinned one, `hack/tools path actionlint`) with ShellCheck on their run: scripts
 * finds nothing, and does find a deliberately broken copy; and ci.yml's kind-e2e limits outlast
 * the kind suite's own budget (e2e/kind/budget.ts), its matrix names node images of
 * hack/versions.env, and the test job keeps Go on PATH under sudo and requires the Data Plane API.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cleanupAll, makeTmpDir, pin, REPO_ROOT, toolPath } from '../harness/index.js';
import { MINUTE, SUITE_MS } from '../kind/budget.js';

const WORKFLOWS = join(REPO_ROOT, '.github/workflows');
const files = readdirSync(WORKFLOWS)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => join(WORKFLOWS, name));
const tmp = makeTmpDir('workflows');
afterAll(() => cleanupAll());

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function actionlint(paths: readonly string[]): Promise<Run> {
  const [bin, shellcheck] = await Promise.all([toolPath('actionlint'), toolPath('shellcheck')]);
  return new Promise((resolve) => {
    execFile(bin, ['-no-color', '-shellcheck', shellcheck, ...paths], { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr });
    });
  });
}

describe('actionlint', () => {
  it('finds the workflows', () => {
    expect(files.map((f) => f.slice(WORKFLOWS.length + 1)).sort()).toEqual(expect.arrayContaining(['ci.yml', 'release.yml']));
  });

  it('finds nothing in .github/workflows/*.yml (ShellCheck included)', async () => {
    // On a finding, the diff shows actionlint's own report.
    await expect(actionlint(files)).resolves.toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('reports a broken workflow: an undefined matrix property, and a ShellCheck finding in a run: script', async () => {
    const ci = readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8');
    const typo = '${{ matrix.kubernetes }})';
    const run = '      - run: npm ci\n';
    expect(ci).toContain(`name: kind-e2e (Kubernetes ${typo}`);
    expect(ci).toContain(run);
    const broken = join(tmp, 'broken-ci.yml');
    writeFileSync(broken, ci.replace(`(Kubernetes ${typo}`, '(Kubernetes ${{ matrix.kubernetse }})').replace(run, `      - run: echo $HOME/*.yml\n${run}`));
    const result = await actionlint([broken]);
    expect(result.code).toBe(1);
    // actionlint names the file relative to the working directory where that is shorter.
    expect(result.stdout).toMatch(/broken-ci\.yml:\d+:\d+: property "kubernetse"/);
    expect(result.stdout).toContain('property "kubernetse" is not defined');
    expect(result.stdout).toMatch(/shellcheck reported issue in this script: SC2086/);
  });
});

interface Step {
  readonly name?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly if?: string;
  readonly 'timeout-minutes'?: number;
  readonly env?: Record<string, string>;
  readonly with?: Record<string, string>;
}
interface Job {
  readonly 'timeout-minutes': number;
  readonly strategy?: { matrix?: { include?: Array<Record<string, string>> } };
  readonly steps: Step[];
}

describe('ci.yml', () => {
  const ci = parse(readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8')) as { jobs: Record<string, Job> };
  const kind = ci.jobs['kind-e2e'];
  const test = ci.jobs.test;

  it("kind-e2e: the test step's limit outlasts the kind suite's jest budget, and the job's the step plus set-up and log keeping", () => {
    expect(kind).toBeDefined();
    const steps = kind?.steps ?? [];
    const suite = steps.find((s) => s.run === 'npm run test:kind');
    const suiteMinutes = Math.ceil(SUITE_MS / MINUTE);
    // jest's start and transform, on top of the hooks' and tests' timeouts
    expect(suite?.['timeout-minutes']).toBeGreaterThanOrEqual(suiteMinutes + 2);
    const after = steps.filter((s) => s.if === 'failure()');
    expect(after.length).toBeGreaterThanOrEqual(2);
    for (const step of after) expect(step['timeout-minutes']).toBeDefined();
    const afterMinutes = after.reduce((n, s) => n + (s['timeout-minutes'] ?? 0), 0);
    // checkout, Node, Go, the caches, npm ci, kind (a Go build on a cold cache)
    const setUpMinutes = 20;
    expect(kind?.['timeout-minutes']).toBeGreaterThanOrEqual((suite?.['timeout-minutes'] ?? 0) + setUpMinutes + afterMinutes);
  });

  it('kind-e2e: on a failure, kind export logs and an uploaded artifact; the suite keeps the cluster', () => {
    const steps = kind?.steps ?? [];
    const suite = steps.find((s) => s.run === 'npm run test:kind');
    expect(suite?.env).toMatchObject({ KEEP_CLUSTER_ON_FAILURE: '1', HAIRPIN_KIND_LOGS_DIR: expect.stringMatching(/kind-logs$/), HAIRPIN_REQUIRE_DOCKER: '1' });
    const exportLogs = steps.find((s) => s.if === 'failure()' && s.run?.includes('export logs'));
    const upload = steps.find((s) => s.if === 'failure()' && s.uses?.startsWith('actions/upload-artifact@'));
    expect(exportLogs?.run).toContain('"$RUNNER_TEMP/kind-logs"');
    expect(upload?.with?.path).toBe('${{ runner.temp }}/kind-logs');
    expect(steps.indexOf(exportLogs as Step)).toBeLessThan(steps.indexOf(upload as Step));
  });

  it('kind-e2e: two Kubernetes minors, each a node image of hack/versions.env of that minor', () => {
    const include = kind?.strategy?.matrix?.include ?? [];
    expect(include).toHaveLength(2);
    for (const entry of include) {
      const key = entry['node-image-pin'] ?? '';
      expect(key).toMatch(/^KIND_NODE_IMAGE/);
      expect(pin(key)).toMatch(new RegExp(`^kindest/node:v${(entry.kubernetes ?? '').replace('.', '\\.')}\\.\\d+@sha256:[0-9a-f]{64}$`));
    }
    expect(new Set(include.map((e) => e.kubernetes)).size).toBe(2);
    const suite = kind?.steps.find((s) => s.run === 'npm run test:kind');
    expect(suite?.env?.HAIRPIN_KIND_NODE_IMAGE_PIN).toBe('${{ matrix.node-image-pin }}');
  });

  it("test: .ci/run as root with the runner's PATH (sudo's secure_path would hide setup-go's Go), the Data Plane API required", () => {
    const run = test?.steps.find((s) => s.run?.includes('.ci/run'))?.run ?? '';
    expect(run).toMatch(/^sudo env "PATH=\$PATH" "HOME=\$HOME" /);
    expect(run).not.toContain('--preserve-env=PATH');
    expect(run).toContain('HAIRPIN_REQUIRE_DATAPLANEAPI=1');
    expect(run).toContain('HAIRPIN_SKIP_KIND=1');
  });
});
