#!/usr/bin/env bash
# Run every benchmark (each prints our figure beside the raw limit).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
for script in bench/*.mjs bench/*.sh; do
  case "$script" in bench/lib*.mjs|bench/run-all.sh) continue ;; esac
  [ -e "$script" ] || continue
  echo "== $script"
  case "$script" in *.mjs) node "$script" ;; *.sh) bash "$script" ;; esac
done
