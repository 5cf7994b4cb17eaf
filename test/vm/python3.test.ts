import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

// Issue 20: the original's environments carried Python 3 and its documents' examples use it.
describe.each(SUITE_BACKENDS)("python3 in debian:12 on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  // No PYRO_BACKEND: on a host without usable KVM guests the default is qemu, as a user gets it.
  const env = pyroEnv(state.dir);
  delete env.PYRO_BACKEND;
  // The shell's argv for `pyro run debian:12 -- python3 -c 'print(1+1)'`, plus the backend flags for the sandbox.
  const args = ["run", "debian:12", ...(backend === "sandbox" ? ["--backend", "sandbox", "--allow-host-compat"] : []), "--", "python3", "-c", "print(1+1)"];

  beforeAll(async () => {
    if (available) await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
  }, 900_000);
  afterAll(() => state.cleanup());

  it.skipIf(!available)(`pyro run debian:12 -- python3 -c 'print(1+1)' prints 2 (needs ${needs})`, async () => {
    const run = await runCli(args, env, { timeoutMs: 300_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("2\n");
    if (backend === "qemu") expect(run.stderr).toMatch(/execution_mode=guest_/);
  }, 320_000);
});
