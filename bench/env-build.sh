#!/usr/bin/env bash
# Environment benchmark (see bench/env-bench.ts): local build time and image
# size per environment, and pull throughput from a loopback registry next to
# curl of the same blob. Needs root, mmdebstrap, docker-registry, curl.
# Usage: bash bench/env-build.sh [ENV...]
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d /tmp/pyro-bench-js-XXXXXX)"
trap 'rm -rf "$out"' EXIT
# Compile the whole tree (type errors elsewhere do not block emitting this bench).
npx tsc -p tsconfig.json --outDir "$out" --noEmit false --declaration false --sourceMap false >/dev/null || true
cp package.json "$out/"
# The compiled copy lives outside the package: point it at this checkout's agent.
export PYRO_AGENT_BIN="${PYRO_AGENT_BIN:-$PWD/agent/dist/pyro-agent}"
[ -x "$PYRO_AGENT_BIN" ] || { echo "agent binary $PYRO_AGENT_BIN missing: run npm run build:agent" >&2; exit 1; }
ln -s "$PWD/node_modules" "$out/node_modules"
node "$out/bench/env-bench.js" "$@"
