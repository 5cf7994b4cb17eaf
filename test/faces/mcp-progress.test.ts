import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { JSONRPCMessage, Progress } from "@modelcontextprotocol/sdk/types.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { CLI, pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
/** Five lines, a second apart: a 5 s call. */
const FIVE_SECONDS = "for i in 1 2 3 4 5; do echo tick$i; sleep 1; done";

describe.skipIf(!sandbox.available)(`MCP progress notifications, with the official client over stdio (needs ${sandbox.needs})`, () => {
  const state = tempStateDir();
  const client = new Client({ name: "pyro-progress-test", version: "1.0.0" });
  /** Every progress notification the client received, raw, with when it arrived. */
  const received: Array<{ at: number; params: Progress & { progressToken: string | number } }> = [];
  let workspaceId: string;

  beforeAll(async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env: pyroEnv(state.dir) as Record<string, string>, stderr: "pipe" });
    await client.connect(transport);
    // Record at the transport: also notifications the client would have no handler for.
    const deliver = transport.onmessage!;
    transport.onmessage = (message: JSONRPCMessage) => {
      if ("method" in message && message.method === "notifications/progress") received.push({ at: Date.now(), params: message.params as never });
      deliver(message);
    };
  }, 900_000);
  afterAll(async () => {
    if (workspaceId) await client.callTool({ name: "workspace_delete", arguments: { workspace_id: workspaceId } });
    await client.close();
    state.cleanup();
  });

  it("reports workspace_create's phases to a client that gave a progress token", async () => {
    const messages: string[] = [];
    const created = await client.callTool(
      { name: "workspace_create", arguments: { environment: "debian:12", backend: "sandbox", allow_host_compat: true } },
      undefined,
      { onprogress: (p) => messages.push(p.message ?? "") },
    );
    expect(created.isError).toBeFalsy();
    workspaceId = (created.structuredContent as { workspace_id: string }).workspace_id;
    expect(messages.join("\n")).toContain(`[workspace] phase=start workspace_id=${workspaceId}`);
  }, 120_000);

  it("keeps a 5 s workspace_exec alive past a 3 s client timeout with progress carrying its output lines", async () => {
    const before = received.length;
    const progress: Array<{ at: number; progress: number; message?: string }> = [];
    const started = Date.now();
    const result = await client.callTool({ name: "workspace_exec", arguments: { workspace_id: workspaceId, command: FIVE_SECONDS } }, undefined, {
      onprogress: (p) => progress.push({ at: Date.now(), progress: p.progress, ...(p.message === undefined ? {} : { message: p.message }) }),
      // Without progress this call would fail with a request timeout after 3 s.
      timeout: 3_000,
      resetTimeoutOnProgress: true,
    });
    const ended = Date.now();
    expect(result.isError).toBeFalsy();
    expect(ended - started).toBeGreaterThan(4_000);
    expect((result.structuredContent as { stdout: string }).stdout).toBe("tick1\ntick2\ntick3\ntick4\ntick5\n");
    const text = progress.map((p) => p.message).join("\n");
    for (const line of ["tick1", "tick3", "tick5"]) expect(text).toContain(line);
    // During the call, not in a burst at its end; every progress value larger than the last.
    expect(progress.filter((p) => p.at < ended - 2_000).map((p) => p.message).join("\n")).toContain("tick1");
    expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b));
    expect(new Set(progress.map((p) => p.progress)).size).toBe(progress.length);
    expect(received.length - before).toBe(progress.length);
  }, 60_000);

  it("kills the guest command when the client cancels the call (notifications/cancelled)", async () => {
    const controller = new AbortController();
    const call = client.callTool({ name: "workspace_exec", arguments: { workspace_id: workspaceId, command: "echo started; sleep 306" } }, undefined, {
      signal: controller.signal,
      onprogress: (p) => p.message?.includes("started") && controller.abort("enough"),
    });
    await expect(call).rejects.toThrow();
    // The server answers the next call only after it saw the cancellation; give the kill a moment to land.
    let listing = "";
    for (let attempt = 0; attempt < 20; attempt++) {
      const result = await client.callTool({ name: "workspace_exec", arguments: { workspace_id: workspaceId, command: 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "' } });
      listing = (result.structuredContent as { stdout: string }).stdout;
      if (!listing.includes("sleep 306")) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(listing).not.toContain("sleep 306");
  }, 60_000);

  it("sends no progress notification to a call without a progress token", async () => {
    const before = received.length;
    const result = await client.callTool({ name: "workspace_exec", arguments: { workspace_id: workspaceId, command: FIVE_SECONDS } });
    expect(result.isError).toBeFalsy();
    expect(received.slice(before)).toEqual([]);
  }, 60_000);
});
