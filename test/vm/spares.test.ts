import { signalProcess } from "../../src/util/process.js";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { waitFor } from "../../src/util/process.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { CLI, pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { pidsMentioning } from "../helpers/processes.js";
import { expectPyroError } from "../helpers/errors.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const base = { environment: "debian:12", backend: "sandbox", allow_host_compat: true, command: "hostname" } as const;

function spareDirs(stateDir: string): string[] {
  const root = join(stateDir, "spares");
  return existsSync(root) ? readdirSync(root) : [];
}

/** Wait for `check` to hold, polling; whether it did within 10 s. */
const until = (check: () => boolean): Promise<boolean> => waitFor(check, 10_000, 20);

describe.skipIf(!sandbox.available)(`warm spares for one-shot runs (needs ${sandbox.needs})`, () => {
  beforeAll(async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
  }, 900_000);

  it("adopts the spare for the next matching run: its id, its hostname, a fresh spare behind it", async () => {
    const state = tempStateDir();
    const lines: string[] = [];
    const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, onProgress: (l) => lines.push(l) });
    try {
      const first = await pyro.runInVm(base);
      expect(first.stdout.trim()).toBe(first.vm_id);
      expect(lines.some((l) => l.includes("spare=true"))).toBe(false);
      const [spare] = spareDirs(state.dir);
      expect(spare).toMatch(new RegExp(`^${process.pid}-vm-[0-9a-f]{12}$`));

      lines.length = 0;
      const second = await pyro.runInVm(base);
      expect(lines.some((l) => l.includes(`vm_id=${second.vm_id}`) && l.includes("spare=true"))).toBe(true);
      expect(spare!.endsWith(second.vm_id)).toBe(true);
      // The adopted machine is the VM: its hostname, its record and files gone after the run.
      expect(second.stdout.trim()).toBe(second.vm_id);
      expect(second.exit_code).toBe(0);
      expect(existsSync(join(state.dir, "vms", second.vm_id))).toBe(false);
      expect(spareDirs(state.dir)).toHaveLength(1);
      expect(spareDirs(state.dir)[0]).not.toBe(spare);

      // Another machine shape does not match: a cold start, and the old spare is discarded.
      lines.length = 0;
      const old = spareDirs(state.dir)[0]!;
      const other = await pyro.runInVm({ ...base, mem_mib: 256 });
      expect(lines.some((l) => l.includes("spare=true"))).toBe(false);
      expect(other.stdout.trim()).toBe(other.vm_id);
      expect(await until(() => !spareDirs(state.dir).includes(old))).toBe(true);
      expect(await until(() => pidsMentioning(old).length === 0)).toBe(true);
    } finally {
      for (const dir of spareDirs(state.dir)) for (const pid of pidsMentioning(dir)) signalProcess(pid, "SIGKILL");
      state.cleanup();
    }
  });

  it("falls back to a cold start when the spare died, and leaves nothing of it", async () => {
    const state = tempStateDir();
    const lines: string[] = [];
    const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, onProgress: (l) => lines.push(l) });
    try {
      await pyro.runInVm(base);
      const [spare] = spareDirs(state.dir);
      expect(await until(() => pidsMentioning(spare!).length > 0)).toBe(true);
      // The spare may still be starting (a process listed now can fork a child a moment later), and
      // kill() returns before the processes are gone: kill until none is left, so the spare is dead,
      // not dying, when the next run looks.
      const killAll = (): boolean => {
        const pids = pidsMentioning(spare!);
        for (const pid of pids) signalProcess(pid, "SIGKILL");
        return pids.length === 0;
      };
      expect(await until(killAll)).toBe(true);
      lines.length = 0;
      const result = await pyro.runInVm(base);
      expect(result.exit_code).toBe(0);
      expect(result.stdout.trim()).toBe(result.vm_id);
      expect(lines.some((l) => l.includes("spare=true"))).toBe(false);
      expect(await until(() => !spareDirs(state.dir).includes(spare!))).toBe(true);
    } finally {
      for (const dir of spareDirs(state.dir)) for (const pid of pidsMentioning(dir)) signalProcess(pid, "SIGKILL");
      state.cleanup();
    }
  });

  it("close() kills the running spare and removes its files before it resolves; later calls fail clearly", async () => {
    const state = tempStateDir();
    const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    let spare: string | undefined;
    try {
      await pyro.runInVm(base);
      [spare] = spareDirs(state.dir);
      expect(spare).toBeDefined();
      expect(await until(() => pidsMentioning(spare!).length > 0)).toBe(true);
      await pyro.close();
      // Gone when close() resolves, not eventually.
      expect(pidsMentioning(spare!)).toEqual([]);
      expect(spareDirs(state.dir)).toEqual([]);
      const error = await expectPyroError(pyro.runInVm(base), "failed_precondition");
      expect(error.message).toContain("closed");
      // Idempotent, and no spare came back.
      await pyro.close();
      expect(spareDirs(state.dir)).toEqual([]);
    } finally {
      if (spare) for (const pid of pidsMentioning(spare)) process.kill(pid, "SIGKILL");
      state.cleanup();
    }
  });

  it("`await using` closes the Pyro at the end of its block, even while its spare is still starting", async () => {
    const state = tempStateDir();
    let spare: string | undefined;
    try {
      {
        await using pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
        await pyro.runInVm(base);
        // The spare began to start as the run returned; the block ends at once.
        [spare] = spareDirs(state.dir);
        expect(spare).toBeDefined();
      }
      expect(pidsMentioning(spare!)).toEqual([]);
      expect(spareDirs(state.dir)).toEqual([]);
    } finally {
      if (spare) for (const pid of pidsMentioning(spare)) process.kill(pid, "SIGKILL");
      state.cleanup();
    }
  });

  it("the MCP server's spare dies with it: no process and no directory left", async () => {
    const state = tempStateDir();
    const client = new Client({ name: "pyro-test", version: "1.0.0" });
    try {
      await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env: pyroEnv(state.dir) as Record<string, string>, stderr: "pipe" }));
      for (let i = 0; i < 2; i++) {
        const result = await client.callTool({ name: "vm_run", arguments: { ...base } });
        expect(result.isError).toBeFalsy();
      }
      const [spare] = spareDirs(state.dir);
      expect(spare).toBeDefined();
      expect(await until(() => pidsMentioning(spare!).length > 0)).toBe(true);
      await client.close();
      expect(await until(() => pidsMentioning(spare!).length === 0)).toBe(true);
      expect(await until(() => spareDirs(state.dir).length === 0)).toBe(true);
    } finally {
      await client.close().catch(() => undefined);
      for (const dir of spareDirs(state.dir)) for (const pid of pidsMentioning(dir)) signalProcess(pid, "SIGKILL");
      state.cleanup();
    }
  });
});
