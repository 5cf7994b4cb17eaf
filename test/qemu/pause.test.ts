import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, statSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { pyroEnv, TEST_CACHE_DIR } from "../helpers/env.js";
import { expectPyroError } from "../helpers/errors.js";
import { pidsMentioning } from "../helpers/processes.js";
import { QEMU_WORKSPACE_ENV as ENV, qemuWorkspaceSuite } from "../helpers/qemu-workspaces.js";
import { QEMU_AVAILABLE, QEMU_NEEDS, debianBase } from "./helpers.js";

describe.skipIf(!QEMU_AVAILABLE)(`workspace pause/resume with memory (qemu under TCG; needs ${QEMU_NEEDS})`, () => {
  const suite = qemuWorkspaceSuite("pyro-pause-");
  const { state, env, shellUntil } = suite;
  const counter = async (workspace_id: string) => Number(await suite.run(workspace_id, "cat /tmp/counter"));

  it("a shell with its variable and sleep, a service, a background command and an open file continue after pause, kill -9 of every pyro process, and resume", async () => {
    const { pyro } = suite;
    const ws = await pyro.createWorkspace({ environment: ENV });
    const id = ws.workspace_id;
    try {
      const shell = await pyro.openShell({ workspace_id: id });
      await pyro.writeShell({ workspace_id: id, shell_id: shell.shell_id, input: "MARK=kept-$$; sleep 1000 & SLEEPER=$!; exec 3>/tmp/open.txt; echo before >&3; echo ready-$MARK" });
      let cursor = (await shellUntil(id, shell.shell_id, /ready-kept-\d+/)).next;
      await pyro.startService({ workspace_id: id, service_name: "counter", command: "i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.2; done" });
      await pyro.execWorkspace({ workspace_id: id, command: "nohup sh -c 'sleep 3; echo late > /tmp/background' >/dev/null 2>&1 &" });
      const before = await counter(id);

      const paused = await runCli(["workspace", "pause", id, "--json"], env, { timeoutMs: 300_000 });
      expect(paused.code, paused.stderr).toBe(0);
      const pause = JSON.parse(paused.stdout) as { state: string; memory_bytes: number };
      expect(pause.state).toBe("paused");
      expect(pause.memory_bytes).toBeGreaterThan(1 << 20);
      expect(existsSync(join(state.dir, "workspaces", id, "machine", "memory.state"))).toBe(true);
      expect((await pyro.statusWorkspace({ workspace_id: id })).state).toBe("paused");
      // Nothing of it runs while paused (no CPU, no memory): kill -9 whatever pyro process is left, as a host reboot would.
      const left = pidsMentioning(state.dir);
      expect(left).toEqual([]);
      for (const pid of left) process.kill(pid, "SIGKILL");
      await expectPyroError(pyro.execWorkspace({ workspace_id: id, command: "true" }), "failed_precondition");
      await new Promise((r) => setTimeout(r, 1500));

      const resumed = await runCli(["workspace", "resume", id, "--json"], env, { timeoutMs: 300_000 });
      expect(resumed.code, resumed.stderr).toBe(0);
      const resume = JSON.parse(resumed.stdout) as { state: string; downtime_ms: number; duration_ms: number };
      expect(resume.state).toBe("running");
      expect(resume.downtime_ms).toBeGreaterThanOrEqual(1500);
      expect(existsSync(join(state.dir, "workspaces", id, "machine", "memory.state"))).toBe(false);

      // The same shell: its variable, its sleeping child, its open file.
      await pyro.writeShell({ workspace_id: id, shell_id: shell.shell_id, input: 'echo after >&3; kill -0 $SLEEPER && echo "alive-$MARK"; cat /tmp/open.txt | tr "\\n" ,; echo' });
      const out = await shellUntil(id, shell.shell_id, /before,after,/, cursor);
      cursor = out.next;
      expect(out.output).toMatch(/alive-kept-\d+/);
      // The service still counts; the background command finished after the resume.
      const resumedAt = await counter(id);
      expect(resumedAt).toBeGreaterThanOrEqual(before);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await counter(id)).toBeGreaterThan(resumedAt);
      expect((await pyro.statusService({ workspace_id: id, service_name: "counter" })).state).toBe("running");
      await new Promise((r) => setTimeout(r, 3000));
      expect((await pyro.execWorkspace({ workspace_id: id, command: "cat /tmp/background" })).stdout.trim()).toBe("late");
      // The clock was stepped to the host's.
      const clock = Number((await pyro.execWorkspace({ workspace_id: id, command: "date +%s" })).stdout.trim());
      expect(Math.abs(clock - Date.now() / 1000)).toBeLessThan(5);
    } finally {
      await pyro.deleteWorkspace({ workspace_id: id });
    }
  }, 600_000);

  it("a damaged memory file fails the resume clearly; the workspace still starts cold; stop/start keep their cold meaning", async () => {
    const { pyro } = suite;
    const ws = await pyro.createWorkspace({ environment: ENV });
    const id = ws.workspace_id;
    try {
      await pyro.execWorkspace({ workspace_id: id, command: "echo on-disk > /workspace/file && sync" });
      await pyro.pauseWorkspace({ workspace_id: id });
      const memory = join(state.dir, "workspaces", id, "machine", "memory.state");
      // Overwrite bytes in the middle: the size is unchanged, the stream is not.
      const fd = openSync(memory, "r+");
      const size = statSync(memory).size;
      for (let at = 4096; at < size; at += Math.floor(size / 8)) writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, at);
      closeSync(fd);
      const error = await expectPyroError(pyro.resumeWorkspace({ workspace_id: id }), "guest_failure");
      expect(error.message).toContain("could not be resumed");
      expect(error.hint).toContain("pyro workspace start");
      expect((await pyro.statusWorkspace({ workspace_id: id })).state).toBe("paused");
      expect(pidsMentioning(join(state.dir, "workspaces", id))).toEqual([]);
      // Cold start: the disk is kept, the saved memory is gone.
      await pyro.startWorkspace({ workspace_id: id });
      expect((await pyro.execWorkspace({ workspace_id: id, command: "cat /workspace/file" })).stdout.trim()).toBe("on-disk");
      expect(readdirSync(join(state.dir, "workspaces", id, "machine")).filter((n) => n.startsWith("memory"))).toEqual([]);
    } finally {
      await pyro.deleteWorkspace({ workspace_id: id });
    }
  }, 600_000);

  it("pauses and resumes several workspaces in a row, and a command running during a pause gets a clear answer", async () => {
    const { pyro } = suite;
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) ids.push((await pyro.createWorkspace({ environment: ENV })).workspace_id);
      for (const [i, id] of ids.entries()) {
        await pyro.execWorkspace({ workspace_id: id, command: `echo ${i} > /tmp/n` });
        expect((await pyro.pauseWorkspace({ workspace_id: id })).state).toBe("paused");
      }
      for (const [i, id] of ids.entries()) {
        expect((await pyro.resumeWorkspace({ workspace_id: id })).state).toBe("running");
        expect((await pyro.execWorkspace({ workspace_id: id, command: "cat /tmp/n; hostname" })).stdout.trim().split("\n")).toEqual([String(i), id]);
      }
      const running = pyro.execWorkspace({ workspace_id: ids[0]!, command: "sleep 30" });
      await new Promise((r) => setTimeout(r, 1500));
      await pyro.pauseWorkspace({ workspace_id: ids[0]! });
      const error = await expectPyroError(running, "failed_precondition");
      expect(error.message).toContain("was paused while the command ran");
      await pyro.resumeWorkspace({ workspace_id: ids[0]! });
      expect((await pyro.execWorkspace({ workspace_id: ids[0]!, command: "echo ok" })).stdout.trim()).toBe("ok");
    } finally {
      for (const id of ids) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    }
  }, 900_000);
});

const IS_ROOT = process.getuid?.() === 0;

describe.skipIf(!QEMU_AVAILABLE || !IS_ROOT)(`workspace pause on a full disk (qemu; needs ${QEMU_NEEDS} and root for a tmpfs mount)`, () => {
  // A state dir on a small tmpfs of its own, filled up before the pause.
  const dir = mkdtempSync(join(tmpdir(), "pyro-pause-full-"));
  let pyro: Pyro;

  beforeAll(async () => {
    await debianBase();
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=600m,mode=0700", "tmpfs", dir]);
    pyro = new Pyro({ stateDir: join(dir, "state"), cacheDir: TEST_CACHE_DIR, env: pyroEnv(join(dir, "state"), { PYRO_BACKEND: "qemu" }) });
  }, 600_000);

  afterAll(async () => {
    await pyro?.close();
    for (const pid of pidsMentioning(dir)) process.kill(pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 500));
    execFileSync("umount", ["-l", dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails the pause with a clear error and leaves the workspace running", async () => {
    const { workspace_id } = await pyro.createWorkspace({ environment: ENV });
    try {
      await pyro.execWorkspace({ workspace_id, command: "echo kept > /workspace/file" });
      // Leave about 8 MiB free: far less than any saved state.
      const { bavail, bsize } = statfsSync(dir);
      const free = Number(bavail) * Number(bsize);
      execFileSync("fallocate", ["-l", String(Math.max(0, free - 8 * 2 ** 20)), join(dir, "filler")]);
      const error = await expectPyroError(pyro.pauseWorkspace({ workspace_id }), "io_error");
      expect(error.hint).toContain("keeps running");
      expect((await pyro.statusWorkspace({ workspace_id })).state).toBe("running");
      expect(readdirSync(join(dir, "state", "workspaces", workspace_id, "machine")).filter((n) => n.startsWith("memory"))).toEqual([]);
      rmSync(join(dir, "filler"));
      expect((await pyro.execWorkspace({ workspace_id, command: "cat /workspace/file" })).stdout.trim()).toBe("kept");
    } finally {
      rmSync(join(dir, "filler"), { force: true });
      await pyro.deleteWorkspace({ workspace_id });
    }
  }, 600_000);
});
