#!/usr/bin/env bash
# `npm test`: everything a fresh clone needs, then every check. Installs are idempotent and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
hack/tools install >&2
npm run --silent build
# dist/ is fresh: the suites must not each build it again (about 5 s apiece).
export HAIRPIN_E2E_BUILT=1
npm run --silent typecheck
npm run --silent lint
export NODE_OPTIONS=--experimental-vm-modules
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
npx jest --selectProjects unit --json --outputFile="$results/unit.json"
npx jest --selectProjects integration --runInBand --json --outputFile="$results/integration.json"
# The story on a real node of this machine: skipped, saying why, where it cannot run (not root).
npx jest --selectProjects node --runInBand --json --outputFile="$results/node.json"
# The kind e2e: skipped, saying why, without a Docker engine (CI's kind-e2e job runs it for real).
npx jest --selectProjects kind --runInBand --json --outputFile="$results/kind.json"
# One closing line for all four runs, in the plain form CI reads: "N passed, N failed, N skipped".
node -e '
  const runs = process.argv.slice(1).map((file) => JSON.parse(require("node:fs").readFileSync(file, "utf8")));
  const sum = (field) => runs.reduce((n, run) => n + run[field], 0);
  console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${sum("numPendingTests")} skipped`);
' "$results/unit.json" "$results/integration.json" "$results/node.json" "$results/kind.json"
echo "npm test: all checks passed in $(( $(date +%s) - start ))s"
