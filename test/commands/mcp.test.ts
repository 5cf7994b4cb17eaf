import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { CLI, TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

type Structured = Record<string, unknown>;

describe.each(SUITE_BACKENDS)("background commands through MCP (the official client) on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  let client: Client;
  let ws = "";
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 300_000 });
    return { isError: result.isError === true, structured: result.structuredContent as Structured, text: JSON.stringify(result.content) };
  };

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    client = new Client({ name: "pyro-test", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env: pyroEnv(state.dir) as Record<string, string>, stderr: "pipe" }));
    const created = await call("workspace_create", { environment: "debian:12", backend, allow_host_compat: true });
    expect(created.isError).toBe(false);
    ws = created.structured.workspace_id as string;
  }, 900_000);
  afterAll(async () => {
    if (ws) await call("workspace_delete", { workspace_id: ws }).catch(() => undefined);
    await client?.close();
    state.cleanup();
  });

  it.skipIf(!available)(`tells a model to run long commands in the background, starts one and waits for it (needs ${needs})`, async () => {
    const { tools } = await client.listTools();
    const exec = tools.find((t) => t.name === "workspace_exec")!;
    expect(exec.description).toMatch(/over a minute/);
    expect(exec.description).toContain("background: true");
    expect(exec.description).toContain("workspace_command_wait");
    expect(Object.keys(exec.inputSchema.properties ?? {})).toContain("background");
    for (const name of ["workspace_command_list", "workspace_command_status", "workspace_command_logs", "workspace_command_wait", "workspace_command_kill"]) {
      expect(tools.find((t) => t.name === name)?.outputSchema, name).toBeDefined();
    }

    const started = await call("workspace_exec", { workspace_id: ws, command: "sleep 2; echo done", background: true });
    expect(started.isError).toBe(false);
    expect(started.structured).toMatchObject({ background: true, state: "running", finished: false });
    const commandId = started.structured.command_id as string;

    // The polling loop a model runs: wait from next_cursor until finished.
    let cursor = 0;
    let output = "";
    let last: Structured = {};
    for (let round = 0; round < 20 && last.finished !== true; round++) {
      const waited = await call("workspace_command_wait", { workspace_id: ws, command_id: commandId, cursor, timeout_seconds: 5 });
      expect(waited.isError).toBe(false);
      last = waited.structured;
      output += last.output as string;
      cursor = last.next_cursor as number;
    }
    expect(last).toMatchObject({ state: "exited", exit_code: 0, finished: true });
    expect(output).toBe("done\n");

    const listed = await call("workspace_command_list", { workspace_id: ws });
    expect((listed.structured.commands as Structured[]).map((c) => c.command_id)).toContain(commandId);

    const long = await call("workspace_exec", { workspace_id: ws, command: "sleep 600", background: true });
    const killed = await call("workspace_command_kill", { workspace_id: ws, command_id: long.structured.command_id, signal_name: "KILL" });
    expect(killed.structured).toMatchObject({ state: "killed", signal: "KILL", exit_code: 137 });

    const unknown = await call("workspace_command_status", { workspace_id: ws, command_id: "cmd-000000000000" });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toContain("not_found");
    expect(unknown.text).toContain("workspace command list");
    const negative = await call("workspace_command_logs", { workspace_id: ws, command_id: commandId, max_bytes: -1 });
    expect(negative.isError).toBe(true);
    expect(negative.text).toContain("invalid_argument");
  }, 600_000);
});
