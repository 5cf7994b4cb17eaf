import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { REPO_ROOT, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

/** Kill a workspace's machine the way a crash would: every host process of it, at once. */
function killMachine(stateDir: string, id: string): void {
  const record = JSON.parse(readFileSync(join(stateDir, "workspaces", id, "record.json"), "utf8")) as { handle: { pid: number; agentPid?: number } };
  for (const pid of [record.handle.agentPid, record.handle.pid]) if (pid) process.kill(pid, "SIGKILL");
}

/** A tree big enough that syncing or archiving it takes a while. */
function bulkyTree(dir: string, files: number, size: number): void {
  mkdirSync(dir, { recursive: true });
  const block = Buffer.alloc(size, 7);
  for (let i = 0; i < files; i += 1) writeFileSync(join(dir, `f${i}.bin`), block);
}

// Faults: the machine killed mid-sync, the host process killed mid-snapshot.
describe.each(SUITE_BACKENDS)("workspace faults on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-faults-"));
  let pyro: Pyro;
  let id = "";

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    const seed = join(host, "seed");
    mkdirSync(seed);
    writeFileSync(join(seed, "base.txt"), "baseline content\n");
    id = (await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, seed_path: seed })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it.skipIf(!available)(`a machine killed mid-sync is dead; reset recovers the baseline (needs ${needs})`, async () => {
    const big = join(host, "big");
    bulkyTree(big, 200, 1024 * 1024);
    const sync = pyro.pushWorkspaceSync({ workspace_id: id, source_path: big, dest: "big" }).then(
      () => null,
      (e: unknown) => e,
    );
    await new Promise((resolve) => setTimeout(resolve, backend === "sandbox" ? 150 : 1500));
    killMachine(state.dir, id);
    expect(await sync).toBeInstanceOf(Error);
    const status = await pyro.statusWorkspace({ workspace_id: id });
    expect(status.state).toBe("dead");
    expect(status.detail).toMatch(/reset/);
    const reset = await pyro.resetWorkspace({ workspace_id: id });
    expect(reset).toMatchObject({ state: "running", restored_from: "baseline" });
    expect((await pyro.execWorkspace({ workspace_id: id, command: "cat base.txt; ls" })).stdout).toBe("baseline content\nbase.txt\n");
  });

  it.skipIf(!available)("a host process killed mid-snapshot never leaves a listed half snapshot", async () => {
    await pyro.execWorkspace({ workspace_id: id, command: "head -c 300000000 /dev/zero > big.bin", timeout_seconds: 120 });
    const script = `
      import { Pyro } from ${JSON.stringify(join(REPO_ROOT, "dist", "index.js"))};
      const pyro = new Pyro({ stateDir: ${JSON.stringify(state.dir)}, cacheDir: ${JSON.stringify(TEST_CACHE_DIR)} });
      await pyro.createSnapshot({ workspace_id: ${JSON.stringify(id)}, snapshot_name: "half" });
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
    const snapshots = join(state.dir, "workspaces", id, "snapshots");
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(existsSync(snapshots) && readdirSync(snapshots).some((n) => n.endsWith(".partial")))) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(readdirSync(snapshots).some((n) => n.endsWith(".partial") || n.endsWith(".tar"))).toBe(true);
    expect((await pyro.listSnapshots({ workspace_id: id })).snapshots.map((s) => s.name)).toEqual(["baseline"]);
    // The next create takes over the dead process's lock and prunes what it left.
    await pyro.execWorkspace({ workspace_id: id, command: "rm big.bin" });
    await pyro.createSnapshot({ workspace_id: id, snapshot_name: "half" });
    expect((await pyro.listSnapshots({ workspace_id: id })).snapshots.map((s) => s.name)).toEqual(["baseline", "half"]);
    expect(readdirSync(snapshots).sort()).toEqual(["half.json", "half.tar"]);
  }, 300_000);
});
