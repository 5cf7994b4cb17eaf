import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { expectPyroError } from "../helpers/errors.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

describe("workspace pause on the sandbox backend", () => {
  const state = tempStateDir();
  let pyro: Pyro;

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
  }, 900_000);
  afterAll(() => state.cleanup());

  it.skipIf(!sandbox.available)(`answers unsupported, naming the VM backend, and leaves the workspace running (needs ${sandbox.needs})`, async () => {
    const { workspace_id } = await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true });
    try {
      const error = await expectPyroError(pyro.pauseWorkspace({ workspace_id }), "unsupported");
      expect(error.message).toContain("sandbox");
      expect(error.hint).toContain("qemu");
      expect((await pyro.statusWorkspace({ workspace_id })).state).toBe("running");
      expect((await pyro.execWorkspace({ workspace_id, command: "echo still" })).stdout).toBe("still\n");
      const fork = await expectPyroError(pyro.forkWorkspace({ workspace_id }), "unsupported");
      expect(fork.hint).toContain("qemu");
      // Resume of a workspace that is not paused says so.
      await expectPyroError(pyro.resumeWorkspace({ workspace_id }), "failed_precondition");
    } finally {
      await pyro.deleteWorkspace({ workspace_id });
    }
  }, 300_000);
});
