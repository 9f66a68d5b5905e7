#!/bin/sh
set -eu
sock='/run/hairpin-haproxy/master.sock'
# "show proc" master line: <pid> master <reloads> [failed: <n>] <uptime> <version>
state() { echo 'show proc' | socat "UNIX-CONNECT:$sock" - 2>/dev/null | awk '$2 == "master" { sub(/]$/, "", $5); print $3, $5 }'; }
before=$(state)
before=${before%% *}
echo reload | socat "UNIX-CONNECT:$sock" - >/dev/null
i=0
while [ "$i" -lt 100 ]; do
  now=$(state)
  if [ -n "$now" ] && [ "${now%% *}" != "$before" ]; then
    [ "${now##* }" = 0 ] && exit 0
    echo "haproxy could not load the new configuration (master reloads/failed: $now)" >&2
    exit 1
  fi
  sleep 0.1
  i=$((i + 1))
done
echo "haproxy did not finish reloading within 10s" >&2
exit 1
