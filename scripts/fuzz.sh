#!/usr/bin/env bash
# Go native fuzzing of the guest agent's hostile-input parsers, for a fixed
# time each (FUZZ_TIME, default 10s; 4 targets, so about 40 s plus builds):
# the frame decoder and the sync scan (seeded from protocol/vectors), the tar
# extractor and its name/link checks. Each target's seed corpus also runs in
# plain `go test`. A failing input is written under the package's
# testdata/fuzz/<target>/: commit it, it becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/../agent"
FUZZ_TIME="${FUZZ_TIME:-10s}"
targets=(
  "./internal/protocol FuzzReadFrame"
  "./internal/protocol FuzzScanSync"
  "./internal/archive FuzzExtract"
  "./internal/archive FuzzNames"
)
for target in "${targets[@]}"; do
  read -r pkg name <<<"$target"
  echo "[fuzz] $name ($pkg) for $FUZZ_TIME" >&2
  # -fuzzminimizetime bounds how long a new interesting input is minimised:
  # by default that can take a minute of the budget on the extractor (a
  # temp dir per run) and report almost no executions.
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZ_TIME" -fuzzminimizetime 100x "$pkg"
done
