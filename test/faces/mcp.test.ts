import { release as release_of_host } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { mcpTools } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { CLI, pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

describe("pyro mcp serve, driven by the official MCP client over stdio", () => {
  const state = tempStateDir();
  let client: Client;

  beforeAll(async () => {
    if (sandbox.available || qemu.available) await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: qemu.available });
    client = new Client({ name: "pyro-test", version: "1.0.0" });
    const env = pyroEnv(state.dir) as Record<string, string>;
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env, stderr: "pipe" }));
  }, 900_000);
  afterAll(async () => {
    await client?.close();
    state.cleanup();
  });

  it("lists every tool with input and output schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(mcpTools().map((t) => t.tool).sort());
    const vmRun = tools.find((t) => t.name === "vm_run")!;
    expect(vmRun.inputSchema.required).toEqual(["environment", "command"]);
    expect(Object.keys(vmRun.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(["environment", "command", "vcpu_count", "mem_mib", "timeout_seconds", "ttl_seconds", "network", "allow_host_compat"]),
    );
    expect(vmRun.outputSchema).toBeDefined();
  });

  it.skipIf(!sandbox.available)(`runs vm_run for a real result (needs ${sandbox.needs})`, async () => {
    const result = await client.callTool({
      name: "vm_run",
      arguments: { environment: "debian:12", command: "git --version", allow_host_compat: true, backend: "sandbox" },
    });
    expect(result.isError).toBeFalsy();
    const structured = result.structuredContent as { exit_code: number; stdout: string; cleanup: { deleted: boolean } };
    expect(structured.exit_code).toBe(0);
    expect(structured.stdout).toMatch(/^git version/);
    expect(structured.cleanup.deleted).toBe(true);
  });

  it.skipIf(!qemu.available)(`runs vm_run in a real VM: the guest kernel, not the host's (needs ${qemu.needs})`, async () => {
    const result = await client.callTool(
      { name: "vm_run", arguments: { environment: "debian:12", command: "uname -r; cat /proc/cmdline; hostname", backend: "qemu" } },
      undefined,
      { timeout: 300_000 },
    );
    expect(result.isError).toBeFalsy();
    const structured = result.structuredContent as { exit_code: number; stdout: string; execution_mode: string };
    expect(structured.exit_code).toBe(0);
    expect(structured.execution_mode).toBe("guest_serial");
    const [release, cmdline, guestHostname] = structured.stdout.trim().split("\n");
    expect(release).toMatch(/cloud-amd64$/);
    expect(release).not.toBe(release_of_host());
    expect(cmdline).toContain("root=/dev/vda");
    expect(guestHostname).toMatch(/^vm-[0-9a-f]+$/);
  }, 300_000);

  it("answers a bad argument with a tool error and keeps serving", async () => {
    const bad = await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "true", timeout_seconds: -1 } });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad.content)).toMatch(/timeout_seconds/);
    const missing = await client.callTool({ name: "vm_status", arguments: { vm_id: "vm-000000000000" } });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toContain("not_found");
    const still = await client.callTool({ name: "vm_list_environments", arguments: {} });
    expect(still.isError).toBeFalsy();
    expect((still.structuredContent as { environments: unknown[] }).environments.length).toBe(3);
  });
});
