import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { CLI, REPO_ROOT, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { Pyro } from "../../src/index.js";
import { leftovers, machineIds, op, runOp, tryOp, unreadableRecords, until, victimPids, type Kind, type Victim } from "./harness.js";
import { writeMatrix, type Cell } from "./table.js";

// The fault matrix (issue 19): for each lifecycle step of a workspace and a
// VM, and each victim (the VMM or sandbox process, the guest agent, the SDK
// process running the step), kill -9 the victim while the step runs, then
// check that status tells the truth, the next call works or fails clearly,
// delete cleans up, and nothing is left: no process, mount, cgroup, socket,
// temp file or unreadable record. The run writes its table to
// bench/results/fault-matrix-<backend>.json and docs/reliability.md.

type Backend = "sandbox" | "qemu";

interface Step {
  kind: Kind;
  step: string;
  /** Make the machine the step starts from; undefined for a create. */
  prepare?: (pyro: Pyro) => Promise<string>;
  method: string;
  input: (id: string, backend: Backend) => Record<string, unknown>;
  /** The step boots a machine: wait for its VMM to appear before the delay. */
  boots?: boolean;
  /** ms after the step began (or its VMM appeared) to kill at. */
  delay: Record<Backend, number>;
  /** Victims that cannot exist during this step, with why. */
  none?: Partial<Record<Victim, string>>;
}

const WS_STATES = ["running", "stopped", "dead"];
const VM_STATES = ["created", "running", "stopped", "dead"];

describe.each(SUITE_BACKENDS)("fault matrix on $name", ({ name: backend, available, needs }) => {
  const host = mkdtempSync(join(tmpdir(), "pyro-faultmx-"));
  const seed = join(host, "seed");
  const bulk = join(host, "bulk");
  const cells: Cell[] = [];
  const t0 = Date.now();
  let probeCache: string | undefined;

  const workspace = async (pyro: Pyro): Promise<string> =>
    (await op<{ workspace_id: string }>(pyro, "createWorkspace", { environment: "debian:12", backend, allow_host_compat: true })).workspace_id;
  const vm = async (pyro: Pyro, start: boolean): Promise<string> => {
    const created = await op<{ vm_id: string }>(pyro, "createVm", { environment: "debian:12", backend, allow_host_compat: true });
    if (start) await op(pyro, "startVm", { vm_id: created.vm_id });
    return created.vm_id;
  };

  const STEPS: Step[] = [
    { kind: "workspace", step: "create", method: "createWorkspace", input: () => ({ environment: "debian:12", backend, allow_host_compat: true }), boots: true, delay: { sandbox: 0, qemu: 500 } },
    { kind: "workspace", step: "seed", method: "createWorkspace", input: () => ({ environment: "debian:12", backend, allow_host_compat: true, seed_path: seed }), boots: true, delay: { sandbox: 250, qemu: 3000 } },
    { kind: "workspace", step: "exec", prepare: workspace, method: "execWorkspace", input: (id) => ({ workspace_id: id, command: "sleep 3; echo done", timeout_seconds: 60 }), delay: { sandbox: 800, qemu: 1500 } },
    { kind: "workspace", step: "sync", prepare: workspace, method: "pushWorkspaceSync", input: (id) => ({ workspace_id: id, source_path: bulk, dest: "big" }), delay: { sandbox: 250, qemu: 1000 } },
    {
      kind: "workspace",
      step: "snapshot",
      prepare: async (pyro) => {
        const id = await workspace(pyro);
        await op(pyro, "execWorkspace", { workspace_id: id, command: "head -c 150000000 /dev/urandom > big.bin", timeout_seconds: 300 });
        return id;
      },
      method: "createSnapshot",
      input: (id) => ({ workspace_id: id, snapshot_name: "s1" }),
      delay: { sandbox: 300, qemu: 1000 },
    },
    { kind: "workspace", step: "reset", prepare: workspace, method: "resetWorkspace", input: (id) => ({ workspace_id: id }), delay: { sandbox: 200, qemu: 1500 } },
    { kind: "workspace", step: "stop", prepare: workspace, method: "stopWorkspace", input: (id) => ({ workspace_id: id }), delay: { sandbox: 60, qemu: 300 } },
    {
      kind: "workspace",
      step: "start",
      prepare: async (pyro) => {
        const id = await workspace(pyro);
        await op(pyro, "stopWorkspace", { workspace_id: id });
        return id;
      },
      method: "startWorkspace",
      input: (id) => ({ workspace_id: id }),
      boots: true,
      delay: { sandbox: 0, qemu: 500 },
    },
    { kind: "workspace", step: "delete", prepare: workspace, method: "deleteWorkspace", input: (id) => ({ workspace_id: id }), delay: { sandbox: 30, qemu: 100 } },
    {
      kind: "vm",
      step: "create",
      method: "createVm",
      input: () => ({ environment: "debian:12", backend, allow_host_compat: true }),
      delay: { sandbox: 0, qemu: 0 },
      none: { vmm: "vm_create only writes a record: no machine runs yet", agent: "vm_create only writes a record: no machine runs yet" },
    },
    { kind: "vm", step: "start", prepare: (pyro) => vm(pyro, false), method: "startVm", input: (id) => ({ vm_id: id }), boots: true, delay: { sandbox: 0, qemu: 500 } },
    { kind: "vm", step: "exec", prepare: (pyro) => vm(pyro, true), method: "execVm", input: (id) => ({ vm_id: id, command: "sleep 3; echo done", timeout_seconds: 60 }), delay: { sandbox: 800, qemu: 1500 } },
    { kind: "vm", step: "stop", prepare: (pyro) => vm(pyro, true), method: "stopVm", input: (id) => ({ vm_id: id }), delay: { sandbox: 60, qemu: 300 } },
    {
      kind: "vm",
      step: "start again",
      prepare: async (pyro) => {
        const id = await vm(pyro, true);
        await op(pyro, "stopVm", { vm_id: id });
        return id;
      },
      method: "startVm",
      input: (id) => ({ vm_id: id }),
      boots: true,
      delay: { sandbox: 0, qemu: 500 },
    },
    { kind: "vm", step: "delete", prepare: (pyro) => vm(pyro, true), method: "deleteVm", input: (id) => ({ vm_id: id }), delay: { sandbox: 30, qemu: 100 } },
  ];

  const victims: Victim[] = ["vmm", "agent", "sdk"];
  /** On qemu the agent is the guest's PID 1: the host cannot kill it alone, and its death is the guest's. */
  const agentNone = backend === "qemu" ? "the agent is the guest's PID 1: nothing on the host can kill it alone (its crash is a kernel panic, i.e. the VMM row)" : undefined;

  beforeAll(async () => {
    if (!available) return;
    if (!existsSync(CLI)) execFileSync("npm", ["run", "--silent", "build"], { cwd: REPO_ROOT, stdio: "inherit" });
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    mkdirSync(seed, { recursive: true });
    mkdirSync(bulk, { recursive: true });
    const block = Buffer.alloc(1024 * 1024, 5);
    for (let i = 0; i < 40; i += 1) writeFileSync(join(seed, `f${i}.bin`), block);
    for (let i = 0; i < 120; i += 1) writeFileSync(join(bulk, `f${i}.bin`), block);
    if (backend === "qemu") {
      const probeState = join(host, "probe-state");
      const probing = new Pyro({ stateDir: probeState, cacheDir: TEST_CACHE_DIR, warmSpares: false });
      await probing.doctor();
      await probing.close();
      probeCache = join(probeState, "qemu-kvm-probe.json");
    }
  }, 900_000);
  afterAll(() => {
    // Only a whole, passing run writes the table (a filtered or failed run would drop rows).
    if (cells.length === STEPS.length * victims.length) writeMatrix(backend, cells, Math.round((Date.now() - t0) / 1000));
    rmSync(host, { recursive: true, force: true });
  });

  for (const step of STEPS) {
    for (const victim of victims) {
      const none = victim === "agent" && agentNone ? agentNone : step.none?.[victim];
      const title = `${step.kind} ${step.step} × kill -9 ${victim}`;
      if (none) {
        it.skipIf(!available)(`${title}: not applicable (${none})`, () => {
          cells.push({ kind: step.kind, step: step.step, victim, outcome: "n/a", note: none });
        });
        continue;
      }
      it.skipIf(!available)(`${title} (needs ${needs})`, async () => {
        const state = tempStateDir("pyro-fm-");
        // The host's KVM probe answer (keyed by boot, QEMU and kernel), so each fresh state dir
        // does not boot the probe again: 5 s a cell on qemu.
        if (probeCache && existsSync(probeCache)) copyFileSync(probeCache, join(state.dir, "qemu-kvm-probe.json"));
        const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
        try {
          cells.push(await runCell(pyro, state.dir, step, victim));
        } finally {
          await pyro.close();
          state.cleanup();
        }
      }, 600_000);
    }
  }

  /** One cell: prepare, run the step, kill the victim mid-step, then check everything. */
  async function runCell(pyro: Pyro, stateDir: string, step: Step, victim: Victim): Promise<Cell> {
    const prepared = step.prepare ? await step.prepare(pyro) : undefined;
    const running = runOp(stateDir, step.method, step.input(prepared ?? "", backend));
    const calledAt = await running.calling;
    let finished = false;
    void running.done.then(() => (finished = true));
    if (step.boots) await until(() => finished || victimPids(stateDir, step.kind, "vmm").length > 0, 120_000, 5);
    await until(() => finished, step.delay[backend], 5);
    // What to kill, at this moment of the step.
    const pids = victim === "sdk" ? [running.pid] : victimPids(stateDir, step.kind, victim);
    const landed = !finished && pids.length > 0;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    const result = await running.done;
    void calledAt;
    const id = prepared ?? machineIds(stateDir, step.kind)[0];
    const ids = new Set([...machineIds(stateDir, "vm"), ...machineIds(stateDir, "workspace"), ...(id ? [id] : [])]);
    const notes: string[] = [];

    // The killed step itself: success, or an error that says what happened (never "internal").
    if (victim !== "sdk" && result.code !== 0) {
      expect(result.code, `${step.method} after the kill: ${result.stdout}`).toBe(1);
      expect(result.stdout).not.toMatch(/"internal"|bug in pyro/);
    }
    // 0 unreadable records, whatever moment the kill hit.
    expect(unreadableRecords(stateDir)).toEqual([]);

    let status = "gone";
    let next = "n/a";
    // A delete is atomic (one rename to a tombstone): an id whose directory is there has its record.
    if (id && machineIds(stateDir, step.kind).includes(id)) {
      const statusRun = await tryOp(pyro, step.kind === "vm" ? "statusVm" : "statusWorkspace", step.kind === "vm" ? { vm_id: id } : { workspace_id: id });
      expect(statusRun.code, JSON.stringify(statusRun.body)).toBe(0);
      status = String(statusRun.body.state);
      expect(step.kind === "vm" ? VM_STATES : WS_STATES, `state ${status} after ${step.step} × ${victim}`).toContain(status);
      // Status tells the truth: a machine said not to run has no process left.
      if (status !== "running") {
        expect(await until(() => victimPids(stateDir, step.kind, "vmm").length === 0 && victimPids(stateDir, step.kind, "agent").length === 0, 5000), `${status} but processes live`).toBe(true);
      }
      next = await nextCall(pyro, step.kind, id, status);
      notes.push(`${status} → ${next}`);
    }

    // Delete cleans up; afterwards nothing is left.
    for (const kind of ["workspace", "vm"] as const) {
      for (const left of machineIds(stateDir, kind)) {
        const del = await tryOp(pyro, kind === "vm" ? "deleteVm" : "deleteWorkspace", kind === "vm" ? { vm_id: left } : { workspace_id: left });
        expect(del.code, `delete ${left}: ${JSON.stringify(del.body)}`).toBe(0);
      }
    }
    // A delete killed half way leaves a tombstone (its id is gone already): the next start finishes it.
    await new Pyro({ stateDir, cacheDir: TEST_CACHE_DIR, warmSpares: false }).close();
    let rest: string[] = [];
    // 10 s: a KVM probe boot orphaned by a killed caller ends itself within 7 s (src/runtime/qemu/accel.ts).
    await until(() => (rest = leftovers(stateDir, ids)).length === 0, 10_000);
    expect(rest, `leftovers after ${step.kind} ${step.step} × ${victim}`).toEqual([]);
    return { kind: step.kind, step: step.step, victim, outcome: "pass", landed, status, next, note: landed ? "" : "the step finished before the kill landed" };
  }

  /**
   * The next call after the fault: a running machine runs a command; a
   * stopped, created or dead VM starts; a stopped workspace starts, a dead
   * one resets.
   * Each must work, or fail with a clear, non-internal error and a hint.
   */
  async function nextCall(pyro: Pyro, kind: Kind, id: string, status: string): Promise<string> {
    const call = (method: string, input: Record<string, unknown>): Promise<{ code: number; body: Record<string, unknown> }> => tryOp(pyro, method, input);
    let run;
    if (kind === "workspace") {
      if (status === "running") run = await call("execWorkspace", { workspace_id: id, command: "true" });
      else if (status === "stopped") run = await call("startWorkspace", { workspace_id: id });
      else run = await call("resetWorkspace", { workspace_id: id });
    } else {
      if (status === "running") run = await call("execVm", { vm_id: id, command: "true" });
      else run = await call("startVm", { vm_id: id });
    }
    if (run.code === 0) {
      if (kind === "workspace" && status !== "running") {
        const exec = await call("execWorkspace", { workspace_id: id, command: "true" });
        expect(exec.code, JSON.stringify(exec.body)).toBe(0);
      }
      return "works";
    }
    const error = run.body.error as { code?: string; hint?: string } | undefined;
    expect(error?.code, JSON.stringify(run.body)).toBeDefined();
    expect(error?.code).not.toBe("internal");
    expect(error?.hint, JSON.stringify(run.body)).toBeTruthy();
    return `clear error (${error?.code})`;
  }
});
