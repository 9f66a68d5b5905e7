#!/usr/bin/env bash
# `npm run demo [-- --json]`: cert-manager's HTTP-01 self-check fails behind a PROXY-protocol load
# balancer, then passes once hairpin-proxy runs; real processes in network namespaces, no Docker.
# Network namespaces need root: the demo re-runs itself with sudo when it is not root.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH" # node@24 from the devDependencies, also outside npm
# Installs what is missing (minutes, once), then answers from its cache in a fraction of a second.
hack/tools install >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "npm run demo: network namespaces need root; re-running with sudo" >&2
  exec sudo env "PATH=$PATH" "HAIRPIN_TOOLS_CACHE=${HAIRPIN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hairpin-proxy}" bash "$0" "$@"
fi
npm run --silent build
export HAIRPIN_E2E_BUILT=1 # dist/ is fresh: the harness skips its own build
exec tsx e2e/story/demo.ts "$@"
