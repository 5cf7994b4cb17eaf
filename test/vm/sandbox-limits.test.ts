import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { spawn } from "node:child_process";
import { createMachineCgroup, findHierarchies, removeMachineCgroup, sweepStaleCgroups } from "../../src/runtime/sandbox/cgroup.js";
import { SANDBOX_PIDS_MAX } from "../../src/runtime/sandbox/limits.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const hierarchies = findHierarchies();
const controllers = hierarchies.map((h) => h.controller).sort();
const cgroupsUsable = sandbox.available && controllers.join(",") === "cpu,memory,pids";
const needs = `${sandbox.needs}, and memory, cpu and pids cgroup controllers (found: ${controllers.join(", ") || "none"})`;

/** Every pyro machine group on this host, as `<base>/<id>` paths. */
function machineGroups(): string[] {
  return [...new Set(hierarchies.map((h) => h.base))].flatMap((base) => (existsSync(base) ? readdirSync(base).map((name) => join(base, name)) : []));
}

function recordedGroups(stateDir: string, workspaceId: string): string[] {
  const record = JSON.parse(readFileSync(join(stateDir, "workspaces", workspaceId, "record.json"), "utf8")) as { handle: { cgroups?: string[] } };
  return record.handle.cgroups ?? [];
}

describe("sandbox resource limits", () => {
  const state = tempStateDir();
  let pyro: Pyro;
  let workspaceId = "";

  beforeAll(async () => {
    if (!cgroupsUsable) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
    workspaceId = (await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, mem_mib: 128, vcpu_count: 1 })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (workspaceId) await pyro.deleteWorkspace({ workspace_id: workspaceId }).catch(() => undefined);
    state.cleanup();
  });

  it.skipIf(!cgroupsUsable)(`reports what it enforces, and status says the same (needs ${needs})`, async () => {
    const status = await pyro.statusWorkspace({ workspace_id: workspaceId });
    expect(status.mem_mib).toBe(128);
    expect(status.limits_enforced).toEqual({ mem_mib: "cgroup", vcpu_count: "cgroup", pids_max: SANDBOX_PIDS_MAX });
    const groups = recordedGroups(state.dir, workspaceId);
    expect(groups.length).toBeGreaterThan(0);
    for (const dir of groups) expect(existsSync(dir)).toBe(true);
  });

  it.skipIf(!cgroupsUsable)(`a guest that allocates 400 MB with mem_mib 128 is killed, and the workspace lives on (needs ${needs})`, async () => {
    // tail keeps the last line whole in memory: 400 MB of zeros without a newline.
    const run = await pyro.execWorkspace({ workspace_id: workspaceId, command: "head -c 400M /dev/zero | tail >/dev/null; echo status=$?", timeout_seconds: 60 });
    expect(run.stdout).toBe("status=137\n"); // SIGKILL from the OOM killer
    const after = await pyro.execWorkspace({ workspace_id: workspaceId, command: "echo alive" });
    expect(after.stdout).toBe("alive\n");
  }, 120_000);

  it.skipIf(!cgroupsUsable)(`nproc in the guest says vcpu_count (needs ${needs})`, async () => {
    const run = await pyro.execWorkspace({ workspace_id: workspaceId, command: "nproc" });
    expect(run.stdout).toBe("1\n");
  });

  it.skipIf(!cgroupsUsable)(`vcpu_count is a CPU-time cap even when the guest widens its affinity (needs ${needs})`, async () => {
    // Two busy loops on every host CPU: uncapped they take about half their CPU time in wall time on 2+ CPUs.
    const run = await pyro.execWorkspace({
      workspace_id: workspaceId,
      command:
        "taskset -a -p -c 0-63 $$ >/dev/null 2>&1; nproc; s=$(date +%s%N); " +
        "for j in 1 2; do (i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done) & done; wait; " +
        "echo $(( ($(date +%s%N) - s) / 1000000 )); times",
      timeout_seconds: 60,
    });
    // `times` prints the shell's own times, then its children's.
    const [cpus, wallMs, , childTimes] = run.stdout.trim().split("\n");
    expect(childTimes ?? "", `unexpected output: ${JSON.stringify({ stdout: run.stdout, stderr: run.stderr, exit_code: run.exit_code })}`).toMatch(/^\d+m[\d.]+s/);
    const [, minutes, seconds] = /^(\d+)m([\d.]+)s/.exec(childTimes ?? "")!;
    const cpuMs = (Number(minutes) * 60 + Number(seconds)) * 1000;
    expect(Number(cpus)).toBeGreaterThan(1); // the guest did widen it (this host has 2+ CPUs)
    expect(cpuMs).toBeGreaterThan(500);
    expect(Number(wallMs)).toBeGreaterThan(cpuMs * 0.85);
  }, 120_000);

  it.skipIf(!cgroupsUsable)(`a fork bomb stops at the pids limit; the guest recovers once it is gone (needs ${needs})`, async () => {
    // Memory enough for ~1000 processes (at 128 MiB the OOM killer would end the bomb first).
    const roomy = (await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true })).workspace_id;
    try {
      // Bounded: 1500 sleepers at most, all gone with the workspace.
      const bomb = await pyro.execWorkspace({
        workspace_id: roomy,
        command: "(i=0; while [ $i -lt 1500 ]; do sleep 600 </dev/null >/dev/null 2>&1 & i=$((i+1)); done) >/dev/null 2>&1; echo finished",
        timeout_seconds: 120,
      });
      expect(bomb.stdout).toBe("finished\n");
      const pidsGroup = recordedGroups(state.dir, roomy).find((dir) => existsSync(join(dir, "pids.current")))!;
      const current = Number(readFileSync(join(pidsGroup, "pids.current"), "utf8"));
      expect(current).toBeLessThanOrEqual(SANDBOX_PIDS_MAX);
      expect(current).toBeGreaterThan(SANDBOX_PIDS_MAX - 50);
      // pkill is one more process: retry until the guest can fork it.
      let cleared = "";
      for (let attempt = 0; attempt < 20 && cleared !== "cleared\n"; attempt += 1) {
        cleared = (await pyro.execWorkspace({ workspace_id: roomy, command: "pkill -x sleep; echo cleared" }).catch(() => ({ stdout: "" }))).stdout;
      }
      expect(cleared).toBe("cleared\n");
      expect((await pyro.execWorkspace({ workspace_id: roomy, command: "echo alive" })).stdout).toBe("alive\n");
    } finally {
      await pyro.deleteWorkspace({ workspace_id: roomy });
    }
  }, 180_000);

  // Last of the tests on the shared workspace: an OOM storm leaves memory pressure behind for a while.
  it.skipIf(!cgroupsUsable)(`many small processes over mem_mib 128 lose to the OOM killer; the agent survives (needs ${needs})`, async () => {
    // The agent (PID 1) has the largest RSS here; guest processes carry a raised OOM score so they go first.
    // Born with it (oomscore.Start): even what the command forks at once has it, and the agent keeps its own.
    for (let i = 0; i < 5; i += 1) {
      expect((await pyro.execWorkspace({ workspace_id: workspaceId, command: "cat /proc/self/oom_score_adj /proc/1/oom_score_adj" })).stdout).toBe("500\n0\n");
    }
    await pyro
      .execWorkspace({
        workspace_id: workspaceId,
        command: "(i=0; while [ $i -lt 900 ]; do sleep 600 </dev/null >/dev/null 2>&1 & i=$((i+1)); done) >/dev/null 2>&1; echo finished",
        timeout_seconds: 120,
      })
      .catch(() => undefined); // the exec's own shell may be among the killed
    let cleared = "";
    for (let attempt = 0; attempt < 20 && cleared !== "cleared\n"; attempt += 1) {
      cleared = (await pyro.execWorkspace({ workspace_id: workspaceId, command: "pkill -x sleep; echo cleared" }).catch(() => ({ stdout: "" }))).stdout;
    }
    expect(cleared).toBe("cleared\n");
    // The guest settles: the killed sleepers reaped and its memory back, so one plain command after another runs
    // (an OOM kill in the settling may still take a worker mid-command; init restarts it).
    let settled = 0;
    for (let attempt = 0; attempt < 40 && settled < 3; attempt += 1) {
      const ps = await pyro.execWorkspace({ workspace_id: workspaceId, command: "ls /proc | grep -c '^[0-9]'" }).catch(() => null);
      settled = ps && Number(ps.stdout) < 10 ? settled + 1 : 0;
      if (settled === 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(settled).toBe(3);
    expect((await pyro.statusWorkspace({ workspace_id: workspaceId })).state).toBe("running");
    const memoryGroup = recordedGroups(state.dir, workspaceId).find((dir) => existsSync(join(dir, "memory.oom_control")));
    if (memoryGroup) expect(readFileSync(join(memoryGroup, "memory.oom_control"), "utf8")).toMatch(/oom_kill [1-9]/);
  }, 180_000);

  it.skipIf(!cgroupsUsable)(`delete removes the machine's cgroups, even after its launcher was killed (needs ${needs})`, async () => {
    const groups = recordedGroups(state.dir, workspaceId);
    const record = JSON.parse(readFileSync(join(state.dir, "workspaces", workspaceId, "record.json"), "utf8")) as { handle: { pid: number } };
    process.kill(record.handle.pid, "SIGKILL");
    await pyro.deleteWorkspace({ workspace_id: workspaceId });
    for (const dir of groups) expect(existsSync(dir)).toBe(false);
    expect(machineGroups().filter((dir) => dir.endsWith(workspaceId))).toEqual([]);
    workspaceId = "";

    const run = await pyro.runInVm({ environment: "debian:12", command: "nproc", backend: "sandbox", allow_host_compat: true, mem_mib: 256, vcpu_count: 1 });
    expect(run.stdout).toBe("1\n");
    expect(run.limits_enforced).toEqual({ mem_mib: "cgroup", vcpu_count: "cgroup", pids_max: SANDBOX_PIDS_MAX });
    expect(machineGroups().filter((dir) => dir.endsWith(run.vm_id))).toEqual([]);
  }, 120_000);

  it.skipIf(!sandbox.available)(`doctor says which sandbox limits this host enforces (needs ${sandbox.needs})`, async () => {
    const doctor = await new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR }).doctor();
    const limits = String(doctor.backends.find((b) => b.name === "sandbox")?.details.limits);
    for (const controller of ["memory", "cpu", "pids"]) {
      expect(limits).toMatch(new RegExp(controllers.includes(controller as never) ? `${controller} \\(cgroup v[12]\\)` : `${controller} NOT enforced`));
    }
  });
});

describe("cgroup discovery and honesty", () => {
  it("finds v1 controllers under this process's own groups on a hybrid host, and v2 where the unified mount lists them", () => {
    const mountinfo = [
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
    ].join("\n");
    const self = ["8:pids:/", "4:memory:/process_api/abc", "1:cpu,cpuacct:/", "0::/"].join("\n");
    expect(findHierarchies(mountinfo, self)).toEqual([
      { controller: "memory", version: 1, mount: "/sys/fs/cgroup/memory", base: "/sys/fs/cgroup/memory/process_api/abc/pyro" },
      { controller: "cpu", version: 1, mount: "/sys/fs/cgroup/cpu,cpuacct", base: "/sys/fs/cgroup/cpu,cpuacct/pyro" },
      { controller: "pids", version: 1, mount: "/sys/fs/cgroup/pids", base: "/sys/fs/cgroup/pids/pyro" },
    ]);
    // Pure v2 (the unified mount lists the controllers): one group dir under <mount>/pyro for all three.
    const unified = mkdtempSync(join(tmpdir(), "pyro-cgroup2-"));
    try {
      writeFileSync(join(unified, "cgroup.controllers"), "cpuset cpu io memory pids\n");
      const v2 = findHierarchies(`40 31 0:40 / ${unified} rw,nosuid - cgroup2 cgroup2 rw`, "0::/user.slice/session-1.scope");
      expect(v2).toEqual(["memory", "cpu", "pids"].map((controller) => ({ controller, version: 2, mount: unified, base: join(unified, "pyro") })));
    } finally {
      rmSync(unified, { recursive: true, force: true });
    }
    // No cgroup mounts at all: nothing to enforce with.
    expect(findHierarchies("31 23 0:28 / /proc rw - proc proc rw", "0::/")).toEqual([]);
  });

  it.skipIf(!cgroupsUsable)(`sweeps empty groups a minute old (a tied spare's, a crash's), never one with a process in it (needs ${needs})`, async () => {
    // A base of this test's own, so no real machine's group is touched.
    const own = hierarchies.map((h) => ({ ...h, base: `${h.base}-sweep-test-${process.pid}` }));
    const empty = await createMachineCgroup("vm-00000000aaaa", { memMib: 128, vcpuCount: 1, pidsMax: 10 }, own);
    const busy = await createMachineCgroup("vm-00000000bbbb", { memMib: 128, vcpuCount: 1, pidsMax: 10 }, own);
    const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      for (const dir of busy.dirs) writeFileSync(join(dir, "cgroup.procs"), String(sleeper.pid));
      await sweepStaleCgroups(own); // everything is young: nothing goes
      for (const dir of [...empty.dirs, ...busy.dirs]) expect(existsSync(dir)).toBe(true);
      await sweepStaleCgroups(own, Date.now() + 120_000);
      for (const dir of empty.dirs) expect(existsSync(dir)).toBe(false);
      for (const dir of busy.dirs) expect(existsSync(dir)).toBe(true);
    } finally {
      sleeper.kill("SIGKILL");
      await new Promise((resolve) => sleeper.once("exit", resolve));
      await removeMachineCgroup([...empty.dirs, ...busy.dirs]);
      await removeMachineCgroup([...new Set(own.map((h) => h.base))]);
    }
    for (const base of new Set(own.map((h) => h.base))) expect(existsSync(base)).toBe(false);
  });

  it("never claims a limit it could not write", async () => {
    // Under a regular file: mkdir fails (ENOTDIR), as it does without root or on a read-only cgroupfs.
    const unwritable = [{ controller: "memory" as const, version: 1 as const, mount: "/dev/null", base: "/dev/null/pyro" }];
    const group = await createMachineCgroup("vm-000000000000", { memMib: 128, vcpuCount: 1, pidsMax: 10 }, unwritable);
    expect(group).toEqual({ dirs: [], enforced: [] });
  });
});
