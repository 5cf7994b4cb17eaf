import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { installedKernel } from "../../src/environments/kernel/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { expectPyroError } from "../helpers/errors.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

/** Every path under `dir` (empty when nothing was created there). */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

function kvmWritable(): boolean {
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `new Pyro({ stateDir, cacheDir })` must write nowhere else. This process's
 * HOME, XDG_STATE_HOME, XDG_CACHE_HOME and TMPDIR point into empty temp
 * directories for the suite (vitest runs each file in its own process), so
 * every default location, whether reached through the Pyro's environment or
 * straight through `process.env`/`os.tmpdir()`, lands where the test looks.
 */
describe("a Pyro with stateDir and cacheDir touches nothing else", () => {
  const state = tempStateDir("pyro-isolation-state-");
  const fake = mkdtempSync(join(tmpdir(), "pyro-isolation-defaults-"));
  const dirs = { HOME: join(fake, "home"), XDG_STATE_HOME: join(fake, "xdg-state"), XDG_CACHE_HOME: join(fake, "xdg-cache"), TMPDIR: join(fake, "tmp") };
  const cleared = ["PYRO_STATE_DIR", "PYRO_ENVIRONMENT_CACHE_DIR"];
  const saved = new Map<string, string | undefined>();
  let pyro: Pyro;

  const expectDefaultsUntouched = (): void => {
    for (const [name, dir] of Object.entries(dirs)) expect(tree(dir), `${name} (${dir}) must stay empty`).toEqual([]);
  };

  beforeAll(async () => {
    // The shared cache is prepared with the real environment, before anything is redirected.
    if (sandbox.available || qemu.available) await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: qemu.available });
    for (const [name, dir] of Object.entries(dirs)) {
      mkdirSync(dir);
      saved.set(name, process.env[name]);
      process.env[name] = dir;
    }
    for (const name of cleared) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
  }, 900_000);
  afterAll(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    state.cleanup();
    rmSync(fake, { recursive: true, force: true });
  });

  it("resolves both directories from the options", () => {
    expect(pyro.config.stateDir).toBe(state.dir);
    expect(pyro.config.cacheDir).toBe(TEST_CACHE_DIR);
  });

  it.skipIf(!sandbox.available)(`workspace create, exec, delete and a one-shot run on the sandbox (needs ${sandbox.needs})`, async () => {
    const { workspace_id } = await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true });
    const exec = await pyro.execWorkspace({ workspace_id, command: "echo inside > /workspace/f && cat /workspace/f" });
    expect(exec.stdout).toBe("inside\n");
    await pyro.deleteWorkspace({ workspace_id });
    const run = await pyro.runInVm({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, command: "echo once" });
    expect(run.stdout).toBe("once\n");
    expectDefaultsUntouched();
    expect(existsSync(join(state.dir, "workspaces"))).toBe(true);
  });

  it.skipIf(!qemu.available)(`qemu finds its kernel in cacheDir, probes KVM into stateDir and runs a VM (needs ${qemu.needs})`, async () => {
    const run = await pyro.runInVm({ environment: "debian:12", backend: "qemu", command: "echo vm", timeout_seconds: 60 });
    expect(run.stdout).toBe("vm\n");
    expectDefaultsUntouched();
    // Where KVM could be probed, the probe's result went to stateDir.
    if (kvmWritable() && pyro.config.qemu.accel === undefined) expect(existsSync(join(state.dir, "qemu-kvm-probe.json"))).toBe(true);
    const doctor = await pyro.doctor();
    // The kernel is looked up in the configured cache, not the default one.
    expect(doctor.backends.find((b) => b.name === "qemu")!.details.kernel).toBe(installedKernel(TEST_CACHE_DIR)!.release);
    expectDefaultsUntouched();
  }, 600_000);

  it.skipIf(!sandbox.available)("runs the agent binary its env names, for pulls and sandboxes alike", async () => {
    const missing = join(dirs.TMPDIR, "no-such-agent");
    const other = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false, env: { ...process.env, PYRO_AGENT_BIN: missing } });
    const error = await expectPyroError(other.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true }), "unavailable");
    expect(error.message).toContain(missing);
    expectDefaultsUntouched();
  });
});
