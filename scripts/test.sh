#!/usr/bin/env bash
# The whole test suite: setup, lint, typecheck, Go tests, then every vitest suite
# (real sandboxes, real QEMU VMs, a real OCI registry, a real MCP client).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# setup.sh may have installed Go from backports, outside the default PATH.
[ -d /usr/lib/go-1.23/bin ] && export PATH="$PATH:/usr/lib/go-1.23/bin"
echo "[test] lint" >&2
npx eslint .
echo "[test] typecheck" >&2
npx tsc -p tsconfig.json --noEmit
echo "[test] go vet + go test (agent)" >&2
(cd agent && go vet ./... && go test ./...)
echo "[test] go fuzz (agent decoders, fixed budget)" >&2
bash scripts/fuzz.sh
echo "[test] vitest" >&2
npx vitest run "$@"
