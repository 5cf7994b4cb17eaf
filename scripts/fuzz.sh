#!/usr/bin/env bash
# Go native fuzzing of the guest agent's hostile-input parsers, for a fixed
# number of executions each (about 10 s each on this machine; 4 targets, so
# about 40 s plus builds): the frame decoder and the sync scan (seeded from
# protocol/vectors), the tar extractor and its name/link checks. Each target's
# seed corpus also runs in plain `go test`. A failing input is written under
# the package's testdata/fuzz/<target>/: commit it, it becomes a regression
# test.
#
# Why counts, not a duration: with a duration `-fuzztime`, Go's fuzz
# coordinator (before Go 1.27, go.dev/issue/75804) can report its own
# shutdown at the deadline as `context deadline exceeded`, a failure with no
# failing input; seen here on FuzzNames in a full run. A count has no
# deadline to race. FUZZ_SCALE multiplies every count (e.g. 10 for a longer run).
set -euo pipefail
cd "$(dirname "$0")/../agent"
FUZZ_SCALE="${FUZZ_SCALE:-1}"
# target, package, executions at scale 1 (the extractor makes a temp dir per run: ~2.8k/s here, the others ~70-90k/s)
targets=(
  "./internal/protocol FuzzReadFrame 600000"
  "./internal/protocol FuzzScanSync 800000"
  "./internal/archive FuzzExtract 25000"
  "./internal/archive FuzzNames 700000"
)
for target in "${targets[@]}"; do
  read -r pkg name count <<<"$target"
  runs=$((count * FUZZ_SCALE))
  echo "[fuzz] $name ($pkg) for ${runs} executions" >&2
  # -fuzzminimizetime bounds how long a new interesting input is minimised:
  # by default that can take a minute of the budget on the extractor (a
  # temp dir per run) and report almost no executions.
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${runs}x" -fuzzminimizetime 100x "$pkg"
done
