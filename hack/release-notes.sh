#!/usr/bin/env bash
# Prints the CHANGELOG.md section of a version, for its GitHub release's notes: the lines under its
# "## " heading down to the next "## " heading, without leading and trailing blank lines.
# The heading names the version first, with or without "v" or brackets, then anything after a
# space: "## 0.2.0", "## v0.2.0", "## [0.2.0] - 2026-12-02", "## 0.2.0 (2026-12-02)".
# "## 0.2.0-rc.1" is another version. Exits 1, saying so, when the section is missing or empty.
#   usage: hack/release-notes.sh VERSION [CHANGELOG]   (VERSION: 0.2.0 or v0.2.0)
set -euo pipefail
(($# >= 1 && $# <= 2)) || { echo "usage: hack/release-notes.sh VERSION [CHANGELOG]" >&2; exit 2; }
version=${1#v}
changelog=${2:-$(dirname "${BASH_SOURCE[0]}")/../CHANGELOG.md}
notes=$(awk -v version="$version" '
  /^## / {
    if (found) exit
    heading = substr($0, 4)
    sub(/^ +/, "", heading); sub(/^\[/, "", heading); sub(/^v/, "", heading)
    rest = substr(heading, length(version) + 1)
    if (substr(heading, 1, length(version)) == version && (rest == "" || rest ~ /^[] (]/)) found = 1
    next
  }
  found { print }
' "$changelog" | sed -e '/./,$!d' | sed -e ':a' -e '/^\n*$/{$d;N;ba' -e '}')
if [[ -z ${notes//[[:space:]]/} ]]; then
  echo "hack/release-notes.sh: $changelog has no section for $version (a \"## $version\" heading with lines under it)" >&2
  exit 1
fi
printf '%s\n' "$notes"
