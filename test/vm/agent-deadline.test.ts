import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { PyroError } from "../../src/util/errors.js";
import { isProcessAlive } from "../../src/util/process.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { pidsMentioning } from "../helpers/processes.js";

// A wedged agent must not hang vm_run or workspace_exec: the host gives every
// agent request a deadline (src/agent-client/deadline.ts). The agent is
// wedged for real: its init and worker are SIGSTOPped mid-command, so they
// keep their socket open and never answer, while the command runs on.

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const TIMEOUT_S = 2;
/** deadlineFor(2000): the timeout plus the 10 s minimum margin. */
const DEADLINE_MS = 12_000;

/** Host pids of `pid` and its descendants. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** Stop a machine's agent (init and worker), leaving the command it runs alone. Returns the stopped pids. */
function wedgeAgent(recordPath: string): number[] {
  const { handle } = JSON.parse(readFileSync(recordPath, "utf8")) as { handle: { agentPid: number } };
  const agents = tree(handle.agentPid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("pyro-agent");
    } catch {
      return false;
    }
  });
  expect(agents.length).toBeGreaterThanOrEqual(2);
  for (const pid of agents) process.kill(pid, "SIGSTOP");
  return agents;
}

/** Wait for a host process whose command line mentions `text`. */
async function waitForProcess(text: string): Promise<void> {
  const until = Date.now() + 30_000;
  while (pidsMentioning(text).length === 0) {
    if (Date.now() > until) throw new Error(`no process mentioning ${text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function failure(promise: Promise<unknown>): Promise<PyroError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PyroError);
  return error as PyroError;
}

describe("a wedged agent on the sandbox", () => {
  const state = tempStateDir();
  let pyro: Pyro;

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    // No warm spare: after the run nothing at all may run from this state dir.
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
  }, 900_000);
  afterAll(() => state.cleanup());

  it.skipIf(!sandbox.available)(`vm_run fails with timeout shortly after the command's timeout, and leaves no process behind (needs ${sandbox.needs})`, async () => {
    const marker = "sleep 30.1234";
    const run = failure(pyro.runInVm({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, command: marker, timeout_seconds: TIMEOUT_S }));
    await waitForProcess(marker);
    const seen = Date.now();
    const [vmId] = readdirSync(join(state.dir, "vms"));
    const stopped = wedgeAgent(join(state.dir, "vms", vmId!, "record.json"));
    const error = await run;
    const elapsed = Date.now() - seen;
    expect(error.code).toBe("timeout");
    expect(error.message).toMatch(/did not answer exec within 12 s/);
    expect(error.hint).toMatch(/delete the VM/);
    // The exec was sent before the command appeared: the deadline is at most DEADLINE_MS after that.
    expect(elapsed).toBeGreaterThan(DEADLINE_MS - 2000);
    expect(elapsed).toBeLessThan(DEADLINE_MS + 3000);
    // The one-shot VM is destroyed: its record, the stopped agent, the command, anything from the state dir.
    expect(existsSync(join(state.dir, "vms", vmId!))).toBe(false);
    for (const pid of stopped) expect(isProcessAlive(pid)).toBe(false);
    expect(pidsMentioning(marker)).toEqual([]);
    expect(pidsMentioning(state.dir)).toEqual([]);
  }, 60_000);

  it.skipIf(!sandbox.available)(`workspace_exec fails with timeout; the workspace stays for reset, which recovers it (needs ${sandbox.needs})`, async () => {
    const { workspace_id: id } = await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true });
    try {
      const marker = "sleep 30.5678";
      const exec = failure(pyro.execWorkspace({ workspace_id: id, command: marker, timeout_seconds: TIMEOUT_S }));
      await waitForProcess(marker);
      const seen = Date.now();
      const stopped = wedgeAgent(join(state.dir, "workspaces", id, "record.json"));
      const error = await exec;
      const elapsed = Date.now() - seen;
      expect(error.code).toBe("timeout");
      expect(error.message).toMatch(/did not answer exec within 12 s/);
      expect(error.hint).toMatch(/reset the workspace/);
      expect(elapsed).toBeGreaterThan(DEADLINE_MS - 2000);
      expect(elapsed).toBeLessThan(DEADLINE_MS + 3000);
      // A workspace is never thrown away for a stall: its machine is left as it is, for reset (or delete).
      expect((await pyro.statusWorkspace({ workspace_id: id })).state).toBe("running");
      expect(await pyro.resetWorkspace({ workspace_id: id })).toMatchObject({ state: "running" });
      // Reset killed the wedged machine, command included.
      for (const pid of stopped) expect(isProcessAlive(pid)).toBe(false);
      expect(pidsMentioning(marker)).toEqual([]);
      expect((await pyro.execWorkspace({ workspace_id: id, command: "echo alive" })).stdout).toBe("alive\n");
    } finally {
      await pyro.deleteWorkspace({ workspace_id: id });
    }
    expect(pidsMentioning(state.dir)).toEqual([]);
  }, 120_000);
});
