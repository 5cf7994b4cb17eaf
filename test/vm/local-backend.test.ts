import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { PyroError } from "../../src/util/errors.js";
import { isProcessAlive } from "../../src/util/process.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import type { LocalAgentBackend } from "../helpers/local-backend.js";
import { localCore, type CoreCall } from "../helpers/local-core.js";
import { pidsMentioning } from "../helpers/processes.js";

// Core operations over the local fake backend (test/helpers/local-backend.ts):
// the real agent as a plain host process, no root, namespaces or VM. Commands
// here run on the host: harmless ones only.

describe("core operations on the local agent backend", () => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-local-"));
  let call: CoreCall;
  let backend: LocalAgentBackend;

  beforeAll(async () => {
    // The environment is resolved as for any backend (its rootfs is not used).
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    ({ call, backend } = localCore(state.dir));
  }, 900_000);
  afterAll(() => {
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it("creates a seeded workspace, runs commands in its /workspace, logs them, deletes it with nothing left running", async () => {
    const seed = join(host, "seed");
    mkdirSync(seed);
    writeFileSync(join(seed, "base.txt"), "baseline\n");
    const created = await call("createWorkspace", { environment: "debian:12", backend: "sandbox", allow_host_compat: true, seed_path: seed });
    expect(created).toMatchObject({ state: "running", backend: "sandbox", execution_mode: "host_compat", workspace_seed: { mode: "directory" } });
    const id = created.workspace_id;
    const exec = await call("execWorkspace", { workspace_id: id, command: "cat base.txt; echo more > new.txt; ls" });
    expect(exec).toMatchObject({ exit_code: 0, stdout: "baseline\nbase.txt\nnew.txt\n", sequence: 1 });
    expect((await call("logsWorkspace", { workspace_id: id })).entries.map((e) => e.command)).toEqual(["cat base.txt; echo more > new.txt; ls"]);
    const machineDir = join(state.dir, "workspaces", id, "machine");
    expect(pidsMentioning(machineDir).length).toBe(1);
    expect(await call("deleteWorkspace", { workspace_id: id })).toEqual({ workspace_id: id, deleted: true });
    expect(existsSync(join(state.dir, "workspaces", id))).toBe(false);
    expect(pidsMentioning(machineDir)).toEqual([]);
  });

  it("maps the file ops' root under the machine's guest root, so they never touch the host's /workspace", async () => {
    const id = (await call("createWorkspace", { environment: "debian:12", backend: "sandbox", allow_host_compat: true })).workspace_id;
    const name = `pyro-local-${id}.txt`;
    expect(await call("writeWorkspaceFile", { workspace_id: id, path: name, text: "mapped\n" })).toMatchObject({ path: `/workspace/${name}`, created: true });
    expect(readFileSync(join(state.dir, "workspaces", id, "machine", "root", "workspace", name), "utf8")).toBe("mapped\n");
    expect(existsSync(join("/workspace", name))).toBe(false);
    expect((await call("readWorkspaceFile", { workspace_id: id, path: name })).content).toBe("mapped\n");
    expect((await call("listWorkspaceFiles", { workspace_id: id })).entries.map((e) => e.path)).toEqual([`/workspace/${name}`]);
    await call("deleteWorkspace", { workspace_id: id });
  });

  it("drives a VM through create, start, status, stop and delete", async () => {
    const { vm_id: id } = await call("createVm", { environment: "debian:12", backend: "sandbox", allow_host_compat: true });
    expect((await call("startVm", { vm_id: id })).state).toBe("running");
    const record = JSON.parse(readFileSync(join(state.dir, "vms", id, "record.json"), "utf8")) as { handle: { pid: number } };
    expect(isProcessAlive(record.handle.pid)).toBe(true);
    expect((await call("statusVm", { vm_id: id })).state).toBe("running");
    // The agent answers shutdown and exits: no kill needed.
    expect((await call("stopVm", { vm_id: id })).state).toBe("stopped");
    expect(isProcessAlive(record.handle.pid)).toBe(false);
    await call("deleteVm", { vm_id: id });
    expect(readdirSync(join(state.dir, "vms"))).toEqual([]);
  });

  it("vm_run whose agent wedges mid-command fails with timeout at its timeout plus the margin, leaving no process behind", async () => {
    const marker = "sleep 30.4321";
    const started = Date.now();
    const run = call("runInVm", { environment: "debian:12", backend: "sandbox", allow_host_compat: true, command: marker, timeout_seconds: 1 }).then(
      () => null,
      (e: unknown) => e,
    );
    while (pidsMentioning(marker).length === 0) await new Promise((r) => setTimeout(r, 10));
    const [id] = readdirSync(join(state.dir, "vms"));
    const { handle } = JSON.parse(readFileSync(join(state.dir, "vms", id!, "record.json"), "utf8")) as { handle: { pid: number } };
    process.kill(handle.pid, "SIGSTOP");
    const error = await run;
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(PyroError);
    expect(error).toMatchObject({ code: "timeout", message: expect.stringMatching(/did not answer exec within 11 s/) });
    expect(elapsed).toBeGreaterThanOrEqual(11_000);
    expect(elapsed).toBeLessThan(14_000);
    expect(isProcessAlive(handle.pid)).toBe(false);
    expect(pidsMentioning(marker)).toEqual([]);
    expect(pidsMentioning(state.dir)).toEqual([]);
    expect(readdirSync(join(state.dir, "vms"))).toEqual([]);
  }, 30_000);

  it("stopping a VM whose agent wedges on shutdown ends after the request's deadline and the grace, with the machine killed", async () => {
    const { vm_id: id } = await call("createVm", { environment: "debian:12", backend: "sandbox", allow_host_compat: true });
    await call("startVm", { vm_id: id });
    const { handle } = JSON.parse(readFileSync(join(state.dir, "vms", id, "record.json"), "utf8")) as { handle: { pid: number } };
    backend.wedgeOn.add("shutdown");
    try {
      const started = Date.now();
      expect((await call("stopVm", { vm_id: id })).state).toBe("stopped");
      const elapsed = Date.now() - started;
      // deadlineFor(SHUTDOWN_GRACE_MS) = 20 s for the answer, then the 10 s grace before the kill.
      expect(elapsed).toBeGreaterThanOrEqual(29_000);
      expect(elapsed).toBeLessThan(35_000);
      expect(isProcessAlive(handle.pid)).toBe(false);
    } finally {
      backend.wedgeOn.clear();
      await call("deleteVm", { vm_id: id });
    }
  }, 60_000);

  it("workspace_exec whose agent wedges fails with timeout; the workspace stays, and reset brings it back", async () => {
    const { workspace_id: id } = await call("createWorkspace", { environment: "debian:12", backend: "sandbox", allow_host_compat: true });
    const machineDir = join(state.dir, "workspaces", id, "machine");
    try {
      await call("execWorkspace", { workspace_id: id, command: "echo kept > kept.txt" });
      await call("createSnapshot", { workspace_id: id, snapshot_name: "one" });
      backend.wedgeOn.add("exec");
      const started = Date.now();
      const error = await call("execWorkspace", { workspace_id: id, command: "true", timeout_seconds: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      backend.wedgeOn.clear();
      const elapsed = Date.now() - started;
      expect(error).toMatchObject({ code: "timeout", message: expect.stringMatching(/did not answer exec within 11 s/), hint: expect.stringMatching(/reset the workspace/) });
      expect(elapsed).toBeGreaterThanOrEqual(11_000);
      expect(elapsed).toBeLessThan(14_000);
      // Left as it is: the wedged agent still runs, the record says running.
      expect((await call("statusWorkspace", { workspace_id: id })).state).toBe("running");
      expect(pidsMentioning(machineDir).length).toBe(1);
      await call("resetWorkspace", { workspace_id: id, snapshot: "one" });
      expect((await call("execWorkspace", { workspace_id: id, command: "cat kept.txt" })).stdout).toBe("kept\n");
      expect(pidsMentioning(machineDir).length).toBe(1);
    } finally {
      backend.wedgeOn.clear();
      await call("deleteWorkspace", { workspace_id: id });
    }
    expect(pidsMentioning(machineDir)).toEqual([]);
  }, 60_000);
});
