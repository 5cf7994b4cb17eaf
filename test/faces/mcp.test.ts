import { release as release_of_host } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { LIMITS, mcpTools } from "../../src/index.js";
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

  // Issue 22, item 5: 1-9.5 MB gave `internal` (a RangeError in the frame
  // encoder), 128 KiB-1 MiB "argument list too long" from the guest.
  it("refuses a command over the limit with invalid_argument naming the limit, on every size that used to fail", async () => {
    for (const size of [LIMITS.command_bytes + 1, 200 * 1024, 2 * 1024 * 1024]) {
      const result = await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "x".repeat(size), allow_host_compat: true } });
      expect(result.isError, `${size} bytes`).toBe(true);
      const text = JSON.stringify(result.content);
      expect(text, `${size} bytes`).toMatch(/^\[\{"type":"text","text":"invalid_argument: /);
      expect(text, `${size} bytes`).toContain(`${LIMITS.command_bytes} bytes`);
    }
  }, 60_000);

  it.skipIf(!sandbox.available)(`runs a command of exactly the limit in a sandbox (needs ${sandbox.needs})`, async () => {
    const prefix = "echo ran; : ";
    const command = prefix + "y".repeat(LIMITS.command_bytes - prefix.length);
    expect(Buffer.byteLength(command)).toBe(LIMITS.command_bytes);
    const result = await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command, allow_host_compat: true, backend: "sandbox" } });
    expect(result.isError, JSON.stringify(result.content).slice(0, 500)).toBeFalsy();
    const structured = result.structuredContent as { exit_code: number; stdout: string };
    expect(structured.exit_code).toBe(0);
    expect(structured.stdout).toBe("ran\n");
  }, 60_000);

  it("refuses an unknown field, naming it and the closest valid one, instead of running with the default", async () => {
    const result = await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "true", timeout: 5, allow_host_compat: true } });
    expect(result.isError).toBe(true);
    const text = (result.content as Array<{ text: string }>)[0]!.text;
    expect(text).toMatch(/^invalid_argument: /);
    expect(text).toContain('unknown field "timeout" (did you mean "timeout_seconds"?)');
  });

  it.skipIf(!sandbox.available)(`keeps the text content of a flooded exec short; structuredContent keeps the output (needs ${sandbox.needs})`, async () => {
    const result = await client.callTool({
      name: "vm_run",
      arguments: {
        environment: "debian:12",
        command: "head -c 3000000 /dev/zero | tr '\\0' a; head -c 3000000 /dev/zero | tr '\\0' b >&2; echo last-line",
        allow_host_compat: true,
        backend: "sandbox",
      },
    });
    expect(result.isError).toBeFalsy();
    const structured = result.structuredContent as { stdout: string; stderr: string; stdout_truncated: boolean; stderr_truncated: boolean };
    expect(structured.stdout.length).toBe(LIMITS.max_output_bytes);
    expect(structured.stderr.length).toBe(LIMITS.max_output_bytes);
    expect(structured.stdout_truncated && structured.stderr_truncated).toBe(true);
    const content = result.content as Array<{ type: string; text: string }>;
    expect(content).toHaveLength(1);
    const text = content[0]!.text;
    expect(text.length).toBeLessThan(64 * 1024);
    expect(text).toContain('"stdout_truncated": true');
    expect(text).toMatch(/^stdout:\naaaa/m);
    expect(text).toMatch(/^stderr:\nbbbb/m);
    expect(text).toContain("characters omitted here; the full text is in structuredContent.stdout");
  }, 60_000);

  it("lists schemas a generic client can fill: every object-valued parameter typed, every parameter described, unknown fields closed", async () => {
    const { tools } = await client.listTools();
    const problems: string[] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      const branches = [...((node.oneOf as unknown[]) ?? []), ...((node.anyOf as unknown[]) ?? [])] as Array<Record<string, unknown>>;
      const types = Array.isArray(node.type) ? (node.type as unknown[]) : [node.type];
      if (branches.some((branch) => branch.type === "object") && !types.includes("object")) problems.push(`${path}: union of objects without type "object"`);
      // A map ({key: value}, e.g. labels) declares its values' schema: that is not an open object.
      const open = node.additionalProperties === undefined || node.additionalProperties === true;
      if (node.type === "object" && branches.length === 0 && open) problems.push(`${path}: accepts unknown fields`);
      for (const [name, property] of Object.entries((node.properties as Record<string, Record<string, unknown>>) ?? {})) {
        if (typeof property.description !== "string" || property.description.length < 8) problems.push(`${path}.${name}: no description`);
        walk(property, `${path}.${name}`);
      }
      branches.forEach((branch, index) => walk(branch, `${path}|${index}`));
      if (node.items) walk(node.items as Record<string, unknown>, `${path}[]`);
    };
    for (const tool of tools) walk(tool.inputSchema as Record<string, unknown>, tool.name);
    expect(problems).toEqual([]);
    const readiness = tools.find((t) => t.name === "service_start")!.inputSchema.properties!.readiness as Record<string, unknown>;
    expect(readiness.type).toBe("object");
    // The limits a model must know are stated where it reads.
    const vmRun = tools.find((t) => t.name === "vm_run")!;
    expect((vmRun.inputSchema.properties!.command as { maxLength: number }).maxLength).toBe(LIMITS.command_bytes);
    expect(vmRun.description).toContain("1 MiB");
    expect(tools.find((t) => t.name === "vm_exec")!.description).toMatch(/VM is deleted after/);
    const shellInput = tools.find((t) => t.name === "shell_write")!.inputSchema.properties!.input as { maxLength: number };
    expect(shellInput.maxLength).toBe(LIMITS.shell_input_bytes);
    const secrets = tools.find((t) => t.name === "workspace_create")!.inputSchema.properties!.secrets as { description: string };
    expect(secrets.description).toContain(`${LIMITS.secret_value_bytes} bytes`);
  });

  it("annotates every tool: destructive deletes, resets and reaps; read-only status, lists, logs, diffs and reads", async () => {
    const { tools } = await client.listTools();
    const hints = new Map(tools.map((t) => [t.name, t.annotations]));
    for (const tool of tools) {
      expect(typeof tool.annotations?.readOnlyHint, tool.name).toBe("boolean");
      expect(typeof tool.annotations?.destructiveHint, tool.name).toBe("boolean");
      expect(typeof tool.annotations?.idempotentHint, tool.name).toBe("boolean");
    }
    for (const name of ["vm_delete", "workspace_delete", "snapshot_delete", "vm_reap_expired", "workspace_reset", "vm_exec"]) {
      expect(hints.get(name), name).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    }
    const readOnly = tools.filter((t) => /_(status|list|logs|diff|read|network_info)$|^vm_list_environments$/.test(t.name)).map((t) => t.name);
    // The 3.1 reads, pool_status, workspace_file_list/read and workspace_command_list/status/logs.
    expect(readOnly.length).toBe(20);
    for (const name of readOnly) expect(hints.get(name), name).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
    expect(hints.get("vm_run")).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
    expect(hints.get("workspace_create")).toMatchObject({ destructiveHint: false, idempotentHint: false });
    expect(hints.get("vm_delete")).toMatchObject({ idempotentHint: true });
  });

  it("answers a bad argument with a tool error and keeps serving", async () => {
    const bad = await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "true", timeout_seconds: -1 } });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad.content)).toMatch(/timeout_seconds/);
    const missing = await client.callTool({ name: "vm_status", arguments: { vm_id: "vm-000000000000" } });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toContain("not_found");
    // An unknown tool is a protocol error (-32602), as the MCP spec has it.
    await expect(client.callTool({ name: "vm_runn", arguments: {} })).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('unknown tool "vm_runn"') });
    const still = await client.callTool({ name: "vm_list_environments", arguments: {} });
    expect(still.isError).toBeFalsy();
    expect((still.structuredContent as { environments: unknown[] }).environments.length).toBe(3);
  });
});

describe("pyro mcp serve, sent a message over its size limit", () => {
  const state = tempStateDir();
  let client: Client;

  beforeAll(async () => {
    client = new Client({ name: "pyro-test", version: "1.0.0" });
    const env = pyroEnv(state.dir) as Record<string, string>;
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env, stderr: "pipe" }));
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    state.cleanup();
  });

  // Issue 22, item 4: the SDK's stdio transport closed itself on a line over
  // 10 MiB and the server answered nothing more.
  it("answers a request over 10 MiB with a JSON-RPC error naming the limit, then keeps serving", async () => {
    const huge = "x".repeat(LIMITS.mcp_message_bytes + 1024 * 1024);
    const refused = await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: huge } }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(McpError);
    expect((refused as McpError).code).toBe(-32600);
    expect((refused as McpError).message).toContain(`limit of ${LIMITS.mcp_message_bytes} bytes`);
    // Not hung, not gone: the same session answers the next request.
    const still = await client.callTool({ name: "vm_list_environments", arguments: {} });
    expect(still.isError).toBeFalsy();
    expect((still.structuredContent as { environments: unknown[] }).environments.length).toBe(3);
  }, 120_000);
});
