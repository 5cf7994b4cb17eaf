import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { FIRST_RUN_PATH, FIRST_RUN_STEPS, maskVolatile, renderFirstRun, runFirstRun } from "../../scripts/first-run.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { CLI, pyroEnv, REPO_ROOT, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

describe.skipIf(!qemu.available)(`docs/first-run.md (needs ${qemu.needs}, as the transcript was made)`, () => {
  it("is what today's CLI prints for the same steps (run `node scripts/first-run.mjs` when this fails)", async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR });
    const state = tempStateDir();
    try {
      const outputs = runFirstRun(CLI, pyroEnv(state.dir));
      expect(outputs.map((o) => o.code)).toEqual(FIRST_RUN_STEPS.map(() => 0));
      const page = readFileSync(join(REPO_ROOT, FIRST_RUN_PATH), "utf8");
      expect(maskVolatile(page)).toBe(maskVolatile(renderFirstRun(outputs)));
    } finally {
      state.cleanup();
    }
  }, 600_000);

  it("masks only what changes from run to run: a changed output format is caught", () => {
    const page = readFileSync(join(REPO_ROOT, FIRST_RUN_PATH), "utf8");
    expect(maskVolatile(page.replace("git version", "git-version"))).not.toBe(maskVolatile(page));
    expect(maskVolatile(page.replace("Selected backend:", "Backend selected:"))).not.toBe(maskVolatile(page));
    expect(maskVolatile(page.replace(/ws-[0-9a-f]{12}/g, "ws-0123456789ab"))).toBe(maskVolatile(page));
  });
});
