import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { runCli } from "../helpers/cli.js";
import { pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

describe("the pyro CLI", () => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir);
  afterAll(() => state.cleanup());

  it("teaches with --help and prints its version", async () => {
    const help = await runCli(["--help"], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/run \[options\] <environment> \[command\.\.\.\]/);
    expect(help.stdout).toContain("workspace");
    const runHelp = await runCli(["run", "--help"], env);
    expect(runHelp.stdout).toContain("--timeout-seconds <n>");
    expect(runHelp.stdout).toContain("--allow-host-compat");
    const version = await runCli(["--version"], env);
    expect(version.stdout.trim()).toMatch(/^pyro \d+\.\d+\.\d+ \(environment catalog \d+\.\d+\.\d+\)$/);
  });

  it("exits 2 on usage errors, with no stack trace", async () => {
    const unknown = await runCli(["frobnicate"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command");
    const badNumber = await runCli(["run", "debian:12", "--timeout-seconds", "soon", "--", "true"], env);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toContain("--timeout-seconds must be an integer");
    const negative = await runCli(["run", "debian:12", "--timeout-seconds", "-4", "--allow-host-compat", "--", "true"], env);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toMatch(/timeout_seconds/);
    expect(negative.stderr).not.toMatch(/\n\s+at /);
    const empty = await runCli(["run", "debian:12", "--allow-host-compat"], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("command must not be empty");
  });

  it("lists the environment catalog as documented", async () => {
    const result = await runCli(["env", "list"], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Catalog version: \S+\n/);
    expect(result.stdout).toMatch(/^debian:12 \[(installed|not installed)\] Debian 12 environment with Git/m);
    expect(result.stdout).toMatch(/^debian:12-base \[/m);
    expect(result.stdout).toMatch(/^debian:12-build \[/m);
  });

  it("says unknown environments are not found (exit 3)", async () => {
    const result = await runCli(["env", "inspect", "debian:99"], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("debian:12");
  });

  describe.skipIf(!sandbox.available)(`pyro run in the sandbox (needs ${sandbox.needs})`, () => {
    beforeAll(async () => {
      await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    }, 900_000);

    it("prints the guest's output, phases on stderr, and exits with the guest's code", async () => {
      const ok = await runCli(["run", "--allow-host-compat", "--backend", "sandbox", "debian:12", "--", "git", "--version"], env);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^git version \d/);
      expect(ok.stderr).toContain("[run] phase=create environment=debian:12");
      expect(ok.stderr).toMatch(/\[run\] environment=debian:12 execution_mode=host_compat exit_code=0 duration_ms=\d+/);
      const failing = await runCli(["run", "--allow-host-compat", "--backend", "sandbox", "debian:12", "--", "sh", "-c", "exit 3"], env);
      expect(failing.code).toBe(3);
    });

    it("gives the SDK's object with --json", async () => {
      const result = await runCli(["run", "--allow-host-compat", "--backend", "sandbox", "--json", "debian:12", "--", "echo", "a b"], env);
      const parsed = JSON.parse(result.stdout);
      expect(parsed).toMatchObject({ environment: "debian:12", exit_code: 0, stdout: "a b\n", backend: "sandbox", cleanup: { deleted: true } });
    });
  });

  it("fails closed without a bootable guest unless host compat is allowed", async () => {
    const noGuests = pyroEnv(state.dir, { PYRO_QEMU_BIN: "/nonexistent/qemu", PYRO_FIRECRACKER_BIN: "/nonexistent/firecracker" });
    const result = await runCli(["run", "debian:12", "--", "true"], noGuests);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain("no guest can boot");
    expect(result.stderr).toContain("--allow-host-compat");
  });
});
