import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { lockHolder } from "../../src/util/lock.js";
import { acquireSlot, slotPath, type Slot } from "../../src/util/slots.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { CLI, pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { startCli } from "../helpers/live-cli.js";
import { pidsMentioning } from "../helpers/processes.js";

const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

// Boot slots (core/machines/boot-slots.ts): at most PYRO_BOOT_SLOTS machines of a state dir
// boot at once; the rest wait, and a caller that gives up while waiting leaves nothing behind.
describe("boot slots on qemu", () => {
  const state = tempStateDir("pyro-boot-slots-");
  const slotsDir = join(state.dir, "boot-slots");
  const env = pyroEnv(state.dir, { PYRO_BOOT_SLOTS: "1", PYRO_POOL_SIZE: "0" });
  let pyro: Pyro;

  beforeAll(async () => {
    if (!qemu.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: true });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, env });
  }, 900_000);
  afterAll(async () => {
    await pyro?.close();
    state.cleanup();
  });

  /** Workspace directories of the state dir (none once a cancelled create cleaned up). */
  const workspaceDirs = (): string[] => (existsSync(join(state.dir, "workspaces")) ? readdirSync(join(state.dir, "workspaces")) : []);

  it.skipIf(!qemu.available)(`an SDK create aborted while it waits for a slot rejects with the reason and leaves nothing (needs ${qemu.needs})`, async () => {
    // This test holds the only slot, as a booting machine of another process would.
    const held: Slot = await acquireSlot(slotsDir, 1);
    try {
      const controller = new AbortController();
      const lines: string[] = [];
      let waiting!: () => void;
      const waitingSeen = new Promise<void>((resolve) => (waiting = resolve));
      // The SDK method takes the call's signal and progress (CreateCallOptions).
      const create = pyro.createWorkspace(
        { environment: "debian:12", backend: "qemu" },
        {
          signal: controller.signal,
          onProgress: (line) => {
            lines.push(line);
            if (line.includes("phase=wait-boot-slot")) waiting();
          },
        },
      );
      await waitingSeen;
      expect(lines.find((l) => l.includes("phase=wait-boot-slot"))).toContain(`booting_pids=${process.pid}`);
      // doctor shows the limit and who holds it.
      expect((await pyro.doctor({})).boot_slots).toEqual({ slots: 1, booting: 1 });
      controller.abort(new Error("the caller gave up"));
      await expect(create).rejects.toThrow("the caller gave up");
      expect(lines.some((l) => l.includes("phase=boot "))).toBe(false);
      expect((await pyro.listWorkspaces({})).workspaces).toEqual([]);
      expect(workspaceDirs()).toEqual([]);
      expect(pidsMentioning(state.dir)).toEqual([]);
      // The slot it waited for is still the holder's.
      expect((await lockHolder(slotPath(slotsDir, 0)))?.pid).toBe(process.pid);
    } finally {
      await held.release();
    }
  }, 120_000);

  it.skipIf(!qemu.available)("Ctrl-C on `pyro workspace create` waiting for a slot exits 130 and leaves nothing", async () => {
    const held = await acquireSlot(slotsDir, 1);
    try {
      const cli = startCli(["workspace", "create", "debian:12", "--backend", "qemu"], env);
      await cli.waitFor("stderr", /phase=wait-boot-slot/);
      cli.child.kill("SIGINT");
      expect(await cli.exited, cli.stderr.map((l) => l.text).join("\n")).toBe(130);
      expect(cli.stderr.map((l) => l.text).join("\n")).toMatch(/cancelling: the workspace will not be created[\s\S]*\[pyro\] cancelled/);
      expect(cli.stdout.map((l) => l.text)).toEqual([]);
      expect(workspaceDirs()).toEqual([]);
      expect(pidsMentioning(state.dir)).toEqual([]);
      expect((await lockHolder(slotPath(slotsDir, 0)))?.pid).toBe(process.pid);
    } finally {
      await held.release();
    }
  }, 120_000);

  it.skipIf(!qemu.available)("an MCP workspace_create cancelled by the client while it waits for a slot leaves nothing, and the server serves on", async () => {
    const held = await acquireSlot(slotsDir, 1);
    const client = new Client({ name: "pyro-boot-slots-test", version: "1.0.0" });
    try {
      await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env: env as Record<string, string>, stderr: "ignore" }));
      const controller = new AbortController();
      const messages: string[] = [];
      let waiting!: () => void;
      const waitingSeen = new Promise<void>((resolve) => (waiting = resolve));
      const create = client.callTool({ name: "workspace_create", arguments: { environment: "debian:12", backend: "qemu" } }, undefined, {
        signal: controller.signal,
        onprogress: (p) => {
          messages.push(p.message ?? "");
          if (p.message?.includes("phase=wait-boot-slot")) waiting();
        },
      });
      await waitingSeen;
      // The client sends notifications/cancelled; the server aborts the call's signal.
      controller.abort(new Error("the model moved on"));
      await expect(create).rejects.toThrow();
      // The server gets the cancellation a moment later than the client gives up: wait for it to clean up.
      const until = Date.now() + 10_000;
      while (workspaceDirs().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(workspaceDirs()).toEqual([]);
      const listed = await client.callTool({ name: "workspace_list", arguments: {} });
      expect((listed.structuredContent as { workspaces: unknown[] }).workspaces).toEqual([]);
      expect(pidsMentioning(join(state.dir, "workspaces"))).toEqual([]);
      expect((await lockHolder(slotPath(slotsDir, 0)))?.pid).toBe(process.pid);
    } finally {
      await client.close();
      await held.release();
    }
  }, 120_000);

  it.skipIf(!qemu.available)("with one slot, two concurrent creates both succeed and never boot at the same time", async () => {
    const events: Array<{ ws: number; line: string; at: number }> = [];
    const create = (ws: number) =>
      pyro.call("createWorkspace", { environment: "debian:12", backend: "qemu" }, { onProgress: (line) => events.push({ ws, line, at: Date.now() }) });
    const made = await Promise.all([create(0), create(1)]);
    try {
      expect(made.map((m) => m.state)).toEqual(["running", "running"]);
      const at = (ws: number, phase: string) => events.find((e) => e.ws === ws && e.line.includes(`phase=${phase}`))?.at;
      const waiter = [0, 1].filter((ws) => at(ws, "wait-boot-slot") !== undefined);
      // Exactly one waited, and it got its slot only after the other's machine was ready.
      expect(waiter, events.map((e) => `${e.ws} ${e.line}`).join("\n")).toHaveLength(1);
      const other = 1 - waiter[0]!;
      expect(at(waiter[0]!, "boot-slot")).toBeGreaterThanOrEqual(at(other, "ready")!);
      for (const ws of made) expect((await pyro.execWorkspace({ workspace_id: ws.workspace_id, command: "echo ok" })).stdout).toBe("ok\n");
    } finally {
      for (const ws of made) await pyro.deleteWorkspace({ workspace_id: ws.workspace_id });
    }
    expect((await lockHolder(slotPath(slotsDir, 0)))).toBeNull();
  }, 600_000);
});
