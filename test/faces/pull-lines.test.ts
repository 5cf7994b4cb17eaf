import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { runCli } from "../helpers/cli.js";
import { pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

/** How many `[pull] phase=X` lines stderr holds, per phase. */
function pullPhases(stderr: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of stderr.matchAll(/^\[pull\] phase=(\S+)/gm)) counts[match[1]!] = (counts[match[1]!] ?? 0) + 1;
  return counts;
}

// Issue 14: with the environment installed, each command reported it twice (pull, then ensure; create, then start).
describe("an installed environment is reported once per command", () => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir, { PYRO_BACKEND: "sandbox" });

  beforeAll(async () => {
    if (sandbox.available || qemu.available) await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: qemu.available });
  }, 900_000);
  afterAll(() => state.cleanup());

  it.skipIf(!sandbox.available)(`pyro demo (create, then start) prints one resolve and one ready line (needs ${sandbox.needs})`, async () => {
    const run = await runCli(["demo", "--allow-host-compat"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(pullPhases(run.stderr)).toEqual({ resolve: 1, ready: 1 });
  });

  it.skipIf(!sandbox.available)(`pyro run and pyro workspace create print them once (needs ${sandbox.needs})`, async () => {
    const run = await runCli(["run", "debian:12", "--allow-host-compat", "--", "true"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(pullPhases(run.stderr)).toEqual({ resolve: 1, ready: 1 });
    const created = await runCli(["workspace", "create", "debian:12", "--allow-host-compat", "--json"], env);
    expect(created.code, created.stderr).toBe(0);
    expect(pullPhases(created.stderr)).toEqual({ resolve: 1, ready: 1 });
    const id = (JSON.parse(created.stdout) as { workspace_id: string }).workspace_id;
    // A later start of that workspace (a command of its own) reports nothing new about the environment.
    expect((await runCli(["workspace", "stop", id], env)).code).toBe(0);
    const started = await runCli(["workspace", "start", id], env);
    expect(started.code, started.stderr).toBe(0);
    expect(pullPhases(started.stderr)).toEqual({});
    expect((await runCli(["workspace", "delete", id], env)).code).toBe(0);
  });

  it.skipIf(!qemu.available)(`pyro env pull of an installed environment, with a VM backend usable, prints them once (needs ${qemu.needs})`, async () => {
    const run = await runCli(["env", "pull", "debian:12"], pyroEnv(state.dir));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Already installed: debian:12");
    expect(pullPhases(run.stderr)).toEqual({ resolve: 1, ready: 1 });
  });
});
