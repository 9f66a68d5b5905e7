#!/usr/bin/env bash
# `npm run bench -- NAME [--json]`: real processes in network namespaces, so it needs root
# (re-runs itself with sudo otherwise), and the tools hack/tools installs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
hack/tools install >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "npm run bench: network namespaces need root; re-running with sudo" >&2
  exec sudo env "PATH=$PATH" "HAIRPIN_TOOLS_CACHE=${HAIRPIN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hairpin-proxy}" bash "$0" "$@"
fi
npm run --silent build
export HAIRPIN_E2E_BUILT=1
exec tsx bench/main.ts "$@"
