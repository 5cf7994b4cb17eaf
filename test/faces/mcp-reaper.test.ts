import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { CLI, pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

describe("pyro mcp serve reaps expired workspaces in the background", () => {
  const state = tempStateDir();
  let client: Client;
  let stderr = "";

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    client = new Client({ name: "pyro-test", version: "1.0.0" });
    const env = pyroEnv(state.dir, { PYRO_REAP_INTERVAL_SECONDS: "1" }) as Record<string, string>;
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env, stderr: "pipe" });
    (transport.stderr as Readable).setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    await client.connect(transport);
  }, 900_000);
  afterAll(async () => {
    await client?.close();
    state.cleanup();
  });

  it.skipIf(!sandbox.available)(`an idle workspace disappears after its ttl without any call to vm_reap_expired (needs ${sandbox.needs})`, async () => {
    const created = await client.callTool({
      name: "workspace_create",
      arguments: { environment: "debian:12", backend: "sandbox", allow_host_compat: true, ttl_seconds: 10 },
    });
    expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
    const { workspace_id: id, expires_at } = created.structuredContent as { workspace_id: string; expires_at: string };

    const listed = async (): Promise<string[]> => {
      const list = await client.callTool({ name: "workspace_list", arguments: {} });
      return (list.structuredContent as { workspaces: Array<{ workspace_id: string }> }).workspaces.map((w) => w.workspace_id);
    };
    // Listing is not use, so polling it does not keep the workspace alive.
    while ((await listed()).includes(id) && Date.now() < Date.parse(expires_at) + 20_000) await sleep(500);
    const goneAt = Date.now();

    expect(await listed()).not.toContain(id);
    expect(goneAt).toBeGreaterThanOrEqual(Date.parse(expires_at));
    expect(existsSync(join(state.dir, "workspaces", id))).toBe(false);
    const status = await client.callTool({ name: "workspace_status", arguments: { workspace_id: id } });
    expect(status.isError).toBe(true);
    expect(JSON.stringify(status.content)).toContain("not_found");
    // Reported on stderr only: stdout carries nothing but protocol messages (the client would have failed otherwise).
    expect(stderr).toContain(`[reap] deleted expired ${id}`);
  }, 120_000);
});
