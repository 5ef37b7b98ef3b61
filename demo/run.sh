#!/usr/bin/env bash
# `npm run demo`: builds a lab of network namespaces (three Calico-like BIRD nodes, podgate on a
# gateway, an FRR office router and a laptop) and shows podgate between them. Needs root.
#   npm run demo             build, show, stay up until Ctrl-C
#   npm run demo -- --check  build, verify, print PASS/FAIL, tear down (exit 0/1)
#   npm run demo -- down     remove whatever a previous demo left (from any shell)
# Installs what is missing (Debian packages, node_modules) and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (it creates network namespaces): sudo npm run demo" >&2
  exit 1
fi

missing=()
for c in ip bird birdc vtysh nft curl; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
for f in /usr/lib/frr/zebra /usr/lib/frr/bgpd; do [ -x "$f" ] || missing+=("$f"); done
if [ "${1:-}" != "down" ] && [ "${#missing[@]}" -gt 0 ]; then
  echo "demo: missing ${missing[*]}: installing the Debian packages with scripts/install-deps.sh"
  bash scripts/install-deps.sh
fi

if [ ! -f node_modules/tsx/package.json ] || [ ! -f node_modules/yaml/package.json ]; then
  echo "demo: node_modules missing: running npm ci"
  if ! npm ci --no-audit --no-fund; then
    # A lock file out of step with package.json makes npm ci refuse; install from package.json
    # without touching the lock file rather than leave the user stuck.
    echo "demo: npm ci failed (see above); installing from package.json instead (npm install --no-package-lock)"
    npm install --no-audit --no-fund --no-package-lock
  fi
fi

# node --import tsx (not the tsx CLI): one process, so Ctrl-C reaches the code that cleans up.
exec node --import tsx demo/lab.ts "$@"
