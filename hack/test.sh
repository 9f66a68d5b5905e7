#!/usr/bin/env bash
# `npm test`: everything a fresh clone needs, then every check. Installs are idempotent and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
hack/tools install >&2
npm run --silent build
npm run --silent typecheck
npm run --silent lint
export NODE_OPTIONS=--experimental-vm-modules
npx jest --selectProjects unit
npx jest --selectProjects integration --runInBand
echo "npm test: all checks passed in $(( $(date +%s) - start ))s"
