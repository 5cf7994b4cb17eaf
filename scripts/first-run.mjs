// Write docs/first-run.md from a real run of the built CLI (see scripts/first-run.ts).
// Uses the environment as it is (PYRO_STATE_DIR, PYRO_ENVIRONMENT_CACHE_DIR, PYRO_BACKEND…),
// with a scratch state directory unless PYRO_STATE_DIR is set.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadTs } from "./load-ts.mjs";

const { FIRST_RUN_PATH, renderFirstRun, runFirstRun } = await loadTs("scripts/first-run.ts");
const state = process.env.PYRO_STATE_DIR ? null : mkdtempSync(join(tmpdir(), "pyro-first-run-state-"));
try {
  const env = { ...process.env, ...(state ? { PYRO_STATE_DIR: state } : {}) };
  writeFileSync(FIRST_RUN_PATH, renderFirstRun(runFirstRun(resolve("dist/cli.js"), env)));
  console.error(`wrote ${FIRST_RUN_PATH}`);
} finally {
  if (state) rmSync(state, { recursive: true, force: true });
}
