#!/usr/bin/env bash
# The offline part of the story: what the controller would do with an example cluster's Ingresses.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "Ingresses in examples/ingresses.yaml, planned for ingress class nginx (the default class):"
node dist/cli.js plan -f examples/ingresses.yaml --ingress-class nginx --output table
say "Those hosts as CoreDNS rules inside examples/Corefile (everything else is left as it was):"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
node dist/cli.js plan -f examples/ingresses.yaml --ingress-class nginx --output json \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).routes.map(r=>r.host).join("\n")))' > "$tmp/hosts"
node dist/cli.js render-corefile --corefile examples/Corefile --hosts "$tmp/hosts" \
  --target hairpin-proxy-haproxy.hairpin-proxy.svc.cluster.local | tee "$tmp/Corefile"
say "Rendering again with no hosts restores the original byte for byte:"
: > "$tmp/none"
node dist/cli.js render-corefile --corefile "$tmp/Corefile" --hosts "$tmp/none" --target x.svc.cluster.local | cmp - examples/Corefile && echo "identical to examples/Corefile"
