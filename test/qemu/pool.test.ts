import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { CLI, pyroEnv, tempStateDir, TEST_CACHE_DIR } from "../helpers/env.js";
import { pidsMentioning } from "../helpers/processes.js";
import { isProcessAlive } from "../../src/util/process.js";
import { QEMU_AVAILABLE, QEMU_NEEDS, debianBase } from "./helpers.js";

const ENV = "debian:12-base";
/** hostname, clock, 16 random bytes, entries in /workspace, whether a previous holder's files are there; then leave files behind. */
const SELF_REPORT = [
  "hostname",
  "date +%s",
  "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo",
  "ls -A /workspace | wc -l",
  "if [ -e /workspace/left-behind ] || [ -e /root/left-behind ]; then echo leaked; else echo clean; fi",
  "echo mine > /workspace/left-behind && echo mine > /root/left-behind",
].join("; ");

/** A file's text, trimmed, or undefined when it is gone (a process that exited, an entry being rewritten). */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

function readJson(path: string): unknown {
  const text = readText(path);
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

type Report = { hostname: string; clock: number; random: string; workspaceEntries: number; previous: string };

function parseReport(stdout: string): Report {
  const [hostname, clock, random, entries, previous] = stdout.trim().split("\n");
  return { hostname: hostname!, clock: Number(clock), random: random!, workspaceEntries: Number(entries), previous: previous! };
}

describe.skipIf(!QEMU_AVAILABLE)(`the pool of restored, paused VMs (qemu under TCG; needs ${QEMU_NEEDS})`, () => {
  const state = tempStateDir("pyro-pool-");
  const env = (extra: Record<string, string> = {}) => pyroEnv(state.dir, { PYRO_BACKEND: "qemu", PYRO_POOL_SIZE: "1", PYRO_POOL_IDLE_SECONDS: "600", ...extra });
  const lines: string[] = [];
  let pyro: Pyro;

  /** Wait until the pool holds a ready machine; its id. */
  const readyMachine = async (rootDisk: "overlay" | "raw" = "overlay"): Promise<string> => {
    const until = Date.now() + 60_000;
    for (;;) {
      const status = await pyro.statusPool();
      const ready = status.machines.find((m) => m.state === "ready" && m.root_disk === rootDisk);
      if (ready) return ready.pool_id;
      if (Date.now() > until) throw new Error(`no ready pooled machine: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    await debianBase();
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, env: env(), onProgress: (line) => lines.push(line) });
    // The first run of the shape may boot (and save the boot snapshot); it fills the pool afterwards.
    const first = await pyro.runInVm({ environment: ENV, command: "true" });
    expect(first.exit_code).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await pyro?.drainPool().catch(() => undefined);
    await pyro?.close();
    state.cleanup();
  });

  it("hands out machines with their own hostname, random state and clock, an empty /workspace and nothing of the previous holder", async () => {
    const reports: Report[] = [];
    for (let i = 0; i < 3; i++) {
      const poolId = await readyMachine();
      lines.length = 0;
      const before = Date.now() / 1000;
      const result = await pyro.runInVm({ environment: ENV, command: SELF_REPORT });
      const after = Date.now() / 1000;
      expect(result.exit_code, result.stderr).toBe(0);
      // Taken from the pool, not booted.
      expect(lines.some((l) => l.includes(`phase=pool-take pool_id=${poolId}`)), lines.join("\n")).toBe(true);
      expect(lines.some((l) => l.includes("phase=restore") || l.includes("phase=boot"))).toBe(false);
      const report = parseReport(result.stdout);
      expect(report.hostname).toBe(result.vm_id);
      expect(report.clock).toBeGreaterThanOrEqual(Math.floor(before) - 2);
      expect(report.clock).toBeLessThanOrEqual(Math.ceil(after) + 2);
      expect(report.workspaceEntries).toBe(0);
      expect(report.previous).toBe("clean");
      reports.push(report);
    }
    expect(new Set(reports.map((r) => r.hostname)).size).toBe(3);
    expect(new Set(reports.map((r) => r.random)).size).toBe(3);
  }, 300_000);

  it("vm_create + vm_start take a pooled machine too", async () => {
    const poolId = await readyMachine();
    lines.length = 0;
    const vm = await pyro.createVm({ environment: ENV });
    await pyro.startVm({ vm_id: vm.vm_id });
    expect(lines.some((l) => l.includes(`phase=pool-take pool_id=${poolId}`)), lines.join("\n")).toBe(true);
    const result = await pyro.execVm({ vm_id: vm.vm_id, command: SELF_REPORT });
    const report = parseReport(result.stdout);
    expect(report.hostname).toBe(vm.vm_id);
    expect(report.previous).toBe("clean");
  }, 300_000);

  it("gives a new workspace a pooled machine (raw disk) that keeps working across stop and start", async () => {
    await pyro.createWorkspace({ environment: ENV }).then((ws) => pyro.deleteWorkspace({ workspace_id: ws.workspace_id }));
    const poolId = await readyMachine("raw");
    lines.length = 0;
    const ws = await pyro.createWorkspace({ environment: ENV });
    try {
      expect(lines.some((l) => l.includes(`phase=pool-take pool_id=${poolId}`)), lines.join("\n")).toBe(true);
      const first = await pyro.execWorkspace({ workspace_id: ws.workspace_id, command: `${SELF_REPORT}; echo kept > /workspace/kept` });
      const report = parseReport(first.stdout);
      expect(report.hostname).toBe(ws.workspace_id);
      expect(report.previous).toBe("clean");
      // The disk moved with the machine: a cold start boots it again with the file.
      await pyro.stopWorkspace({ workspace_id: ws.workspace_id });
      await pyro.startWorkspace({ workspace_id: ws.workspace_id });
      const again = await pyro.execWorkspace({ workspace_id: ws.workspace_id, command: "cat /workspace/kept; hostname" });
      expect(again.stdout.trim().split("\n")).toEqual(["kept", ws.workspace_id]);
    } finally {
      await pyro.deleteWorkspace({ workspace_id: ws.workspace_id });
    }
  }, 600_000);

  it("the one-shot CLI adopts a pooled machine another process made, and drain leaves no process", async () => {
    // This process's machines aside, the pool holds what the CLI parks.
    await pyro.drainPool();
    const made = await runCli(["run", ENV, "--", "true"], env(), { timeoutMs: 300_000 });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/\[pool\] phase=parked pool_id=(pool-[0-9a-f]+)/);
    const parked = /\[pool\] phase=parked pool_id=(pool-[0-9a-f]+)/.exec(made.stderr)![1]!;
    // The maker has exited; another process takes its machine.
    const status = JSON.parse((await runCli(["pool", "status", "--json"], env())).stdout) as { machines: Array<{ pool_id: string }> };
    expect(status.machines.map((m) => m.pool_id)).toEqual([parked]);
    await readyMachine();
    const taken = await runCli(["run", ENV, "--", "hostname"], env(), { timeoutMs: 300_000 });
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stderr).toContain(`phase=pool-take pool_id=${parked}`);
    expect(taken.stdout.trim()).toMatch(/^vm-[0-9a-f]{12}$/);
    const drained = JSON.parse((await runCli(["pool", "drain", "--json"], env())).stdout) as { drained: string[]; count: number };
    expect(drained.count).toBe(1);
    expect(drained.drained).not.toContain(parked);
    expect(pidsMentioning(join(state.dir, "pool"))).toEqual([]);
  }, 600_000);

  /** Watch the pool's new entries while `during` runs: what each one's recorded process runs (`comm`), when. */
  const watchRefill = async <R,>(during: (firstSeen: Promise<string>) => Promise<R>) => {
    const pool = join(state.dir, "pool");
    const before = new Set(readdirSync(pool));
    const seen: Array<{ at: number; id: string; comm: string }> = [];
    let sighted!: (id: string) => void;
    const firstSeen = new Promise<string>((resolve) => (sighted = resolve));
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const name of readdirSync(pool).filter((n) => !before.has(n))) {
          const pid = (readJson(join(pool, name, "pool.json")) as { handle?: { pid?: number } } | undefined)?.handle?.pid;
          const comm = pid ? readText(`/proc/${pid}/comm`) : undefined;
          if (comm) {
            seen.push({ at: Date.now(), id: name, comm });
            sighted(name);
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const result = await during(firstSeen);
      return { before, seen, ended: Date.now(), result };
    } finally {
      watching = false;
      await watcher;
    }
  };

  it("a process that exits after its call refills while the command runs, holding the new machine's restore until the call ended; others neither wait for it nor drop it", async () => {
    // The test before drained the pool: a run refills it.
    await pyro.runInVm({ environment: ENV, command: "true" });
    await readyMachine();
    // As the CLI is: one call, then exit (PyroOptions.exitsAfterCall).
    const oneShot = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, env: env(), warmSpares: false, exitsAfterCall: true });
    try {
      const { before, seen, result } = await watchRefill(async (firstSeen) => {
        const run = oneShot.runInVm({ environment: ENV, command: "sleep 6" });
        // While the new machine is held: pool status calls it starting, and another process's run boots its own
        // (no 15 s wait for a restore that has not begun, no drop) and leaves it alone.
        const held = await firstSeen;
        const status = await pyro.statusPool();
        expect(status.machines.find((m) => m.pool_id === held)?.state).toBe("starting");
        lines.length = 0;
        const other = await pyro.runInVm({ environment: ENV, command: "true" });
        expect(other.exit_code).toBe(0);
        expect(lines.filter((l) => l.includes("phase=pool-take")), lines.join("\n")).toEqual([]);
        return { held, first: await run };
      });
      expect(result.first.exit_code, result.first.stderr).toBe(0);
      // The refill started during the command (the entry appears right after the take, before `sleep 6` starts)...
      const held = seen.filter((s) => s.id === result.held);
      // ...and for the 4 s after that, surely inside the command, its process was the gated shell, not qemu-img or QEMU.
      const during = held.filter((s) => s.at < held[0]!.at + 4000);
      expect(during.length).toBeGreaterThan(10);
      expect([...new Set(during.map((s) => s.comm))]).toEqual(["sh"]);
      // Once the call ended, it restores and becomes a ready machine: the other run had left it alone.
      expect(before.has(result.held)).toBe(false);
      const until = Date.now() + 60_000;
      while (!(await pyro.statusPool()).machines.some((m) => m.pool_id === result.held && m.state === "ready")) {
        if (Date.now() > until) throw new Error(`${result.held} never became ready: ${JSON.stringify(await pyro.statusPool())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await oneShot.close();
    }
  }, 300_000);

  it("a long-lived process refills only after the call (no fork of it beside the command)", async () => {
    await readyMachine();
    const { seen, ended, result } = await watchRefill(() => pyro.runInVm({ environment: ENV, command: "sleep 2" }));
    expect(result.exit_code, result.stderr).toBe(0);
    expect(seen.filter((s) => s.at < ended - 100), "a pool entry appeared while the command ran").toEqual([]);
    await readyMachine();
  }, 300_000);

  it("drops machines whose owner was killed once their idle time passed, and the leftovers of a maker killed mid-park", async () => {
    await pyro.drainPool();
    const idleEnv = env({ PYRO_POOL_IDLE_SECONDS: "3" });
    // The owner: a CLI killed (-9) as soon as it parked its machine.
    const owner = spawn(process.execPath, [CLI, "run", ENV, "--", "true"], { env: idleEnv, stdio: ["ignore", "ignore", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      let err = "";
      owner.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        err += chunk;
        if (err.includes("[pool] phase=parked")) {
          owner.kill("SIGKILL");
          resolve();
        }
      });
      owner.on("close", () => (err.includes("[pool] phase=parked") ? resolve() : reject(new Error(err))));
    });
    // A maker killed before it recorded its machine: an entry without handle, a process running under its directory.
    const leftover = join(state.dir, "pool", "pool-00000000dead");
    mkdirSync(leftover, { recursive: true });
    const gone = spawn("true");
    await new Promise((r) => gone.on("close", r));
    writeFileSync(join(leftover, "pool.json"), JSON.stringify({ schema: 1, pool_id: "pool-00000000dead", key: "k", backend: "qemu", created_at: new Date().toISOString(), creator: { pid: gone.pid, start_time: null }, handle: null, environment: ENV, vcpu_count: 1, mem_mib: 1024, root_disk: "overlay" }));
    const stray = spawn("sh", ["-c", "sleep 300; :", join(leftover, "disk")], { stdio: "ignore", detached: true });
    stray.unref();
    expect(pidsMentioning(join(state.dir, "pool")).length).toBeGreaterThanOrEqual(2);

    await new Promise((r) => setTimeout(r, 3500));
    // Status only reads; the reaper (vm_reap_expired, which `pyro mcp serve` runs every minute) drops them.
    const status = await runCli(["pool", "status", "--json"], idleEnv);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { count: number }).count).toBe(2);
    const reaper = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, env: idleEnv });
    await reaper.reapExpired();
    await reaper.close();
    expect((await pyro.statusPool()).count).toBe(0);
    expect(pidsMentioning(join(state.dir, "pool"))).toEqual([]);
    expect(existsSync(join(state.dir, "pool")) ? readdirSync(join(state.dir, "pool")).filter((n) => n.startsWith("pool-")) : []).toEqual([]);
  }, 600_000);

  // Nothing may keep a parked machine alive forever: with no pyro process left to reap it
  // (the last `pyro run` of the day, a state dir someone deleted), its watchdog ends it
  // after the idle time plus a grace (2 s + 2 s here).
  it("a parked machine ends by itself after its idle time, also when its state dir is deleted; a taken one runs on", async () => {
    const parkIn = async (dir: string, idleSeconds: string): Promise<{ pid: number; env: NodeJS.ProcessEnv }> => {
      const idleEnv = pyroEnv(dir, { PYRO_BACKEND: "qemu", PYRO_POOL_SIZE: "1", PYRO_POOL_IDLE_SECONDS: idleSeconds });
      const made = await runCli(["run", ENV, "--", "true"], idleEnv, { timeoutMs: 300_000 });
      expect(made.stderr).toContain("[pool] phase=parked");
      // Ready (its warm-up done), so only the watchdog can end it.
      for (const until = Date.now() + 60_000; ; ) {
        const status = JSON.parse((await runCli(["pool", "status", "--json"], idleEnv)).stdout) as { machines: Array<{ pid: number; state: string }> };
        expect(status.machines).toHaveLength(1);
        if (status.machines[0]!.state === "ready") return { pid: status.machines[0]!.pid, env: idleEnv };
        if (Date.now() > until) throw new Error(`the pooled machine never got ready: ${JSON.stringify(status)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const gone = async (pid: number, withinMs: number) => {
      for (const until = Date.now() + withinMs; Date.now() < until && isProcessAlive(pid); ) await new Promise((r) => setTimeout(r, 200));
      return !isProcessAlive(pid);
    };
    const deleted = tempStateDir("pyro-pool-deleted-");
    const kept = tempStateDir("pyro-pool-kept-");
    const taken = tempStateDir("pyro-pool-taken-");
    try {
      const orphan = await parkIn(deleted.dir, "2");
      // As a user would: rm -rf, nothing killed first (the helper's cleanup would kill it).
      rmSync(deleted.dir, { recursive: true, force: true });
      const idle = await parkIn(kept.dir, "2");
      expect(await gone(orphan.pid, 30_000), "parked VMM of a deleted state dir still runs").toBe(true);
      expect(await gone(idle.pid, 30_000), "idle parked VMM still runs").toBe(true);
      // Taken before its deadline (8 s after parking), the machine outlives it.
      const parked = await parkIn(taken.dir, "4");
      const run = await runCli(["run", ENV, "--timeout-seconds", "60", "--", "sleep 10; echo survived"], parked.env, { timeoutMs: 300_000 });
      expect(run.stderr).toContain("phase=pool-take");
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe("survived");
    } finally {
      deleted.cleanup();
      for (const dir of [kept.dir, taken.dir]) await new Pyro({ stateDir: dir, cacheDir: TEST_CACHE_DIR, env: { PYRO_POOL_SIZE: "0" } }).drainPool().catch(() => undefined);
      kept.cleanup();
      taken.cleanup();
    }
  }, 600_000);
});
