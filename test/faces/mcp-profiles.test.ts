import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { Pyro, mcpTools } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { runCli } from "../helpers/cli.js";
import { CLI, pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

/**
 * The original's (3.11) workspace-core tool set, copied from
 * shared/reference/pyro-3.11-additions.md. workspace_file_* and
 * workspace_patch_apply come from the sibling branch that adds the file API;
 * a tool of this list that does not exist yet is not served.
 */
const REFERENCE_WORKSPACE_CORE = [
  "vm_run", "workspace_create", "workspace_delete", "workspace_diff", "workspace_exec", "workspace_export",
  "workspace_file_list", "workspace_file_read", "workspace_file_write", "workspace_list", "workspace_logs",
  "workspace_patch_apply", "workspace_reset", "workspace_status", "workspace_sync_push", "workspace_update",
];
const EXISTING = new Set(mcpTools().map((t) => t.tool));
const EXPECTED: Record<string, string[]> = {
  "vm-run": ["vm_run"],
  "workspace-core": REFERENCE_WORKSPACE_CORE.filter((tool) => EXISTING.has(tool)),
  "workspace-full": [...EXISTING],
};

async function stdioClient(stateDir: string, args: string[]): Promise<Client> {
  const client = new Client({ name: "pyro-profile-test", version: "1.0.0" });
  const env = pyroEnv(stateDir) as Record<string, string>;
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve", ...args], env, stderr: "pipe" }));
  return client;
}

describe("MCP profiles, listed by the official MCP client", () => {
  const state = tempStateDir();
  const clients: Client[] = [];
  afterAll(async () => {
    for (const client of clients) await client.close();
    state.cleanup();
  });

  it("the workspace-core list holds every core tool that exists (at least the 12 of this branch)", () => {
    expect(EXPECTED["workspace-core"]!.length).toBeGreaterThanOrEqual(12);
    expect(EXPECTED["workspace-core"]).toEqual(expect.arrayContaining(["vm_run", "workspace_create", "workspace_update", "workspace_exec"]));
  });

  it.each(Object.keys(EXPECTED))("pyro mcp serve --profile %s lists exactly its tools", async (profile) => {
    const client = await stdioClient(state.dir, ["--profile", profile]);
    clients.push(client);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...EXPECTED[profile]!].sort());
  });

  it("serves workspace-full without --profile", async () => {
    const client = await stdioClient(state.dir, []);
    clients.push(client);
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([...EXISTING].sort());
  });

  it("refuses an unknown profile with the valid ones", async () => {
    const run = await runCli(["mcp", "serve", "--profile", "everything"], pyroEnv(state.dir));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("vm-run, workspace-core, workspace-full");
  });

  it("createServer({ profile }) serves the profile; workspace-core's workspace_create takes no network or secrets", async () => {
    const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    expect(() => pyro.createServer({ profile: "everything" as never })).toThrow(/unknown MCP profile "everything"/);
    const server = pyro.createServer({ profile: "workspace-core" });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: "pyro-profile-test", version: "1.0.0" });
    await client.connect(clientSide);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...EXPECTED["workspace-core"]!].sort());
      const create = tools.find((t) => t.name === "workspace_create")!;
      const fields = Object.keys(create.inputSchema.properties ?? {});
      expect(fields).toEqual(expect.arrayContaining(["environment", "name", "labels", "seed_path"]));
      for (const hidden of ["network_policy", "secrets", "allow_hosts", "allow_cidrs"]) expect(fields).not.toContain(hidden);
      // Sent anyway, they are refused before anything is created.
      const refused = await client.callTool({ name: "workspace_create", arguments: { environment: "debian:12", network_policy: "egress" } });
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toContain("workspace_create takes no network_policy in the workspace-core profile");
      // A tool of another profile is not callable here.
      await expect(client.callTool({ name: "shell_open", arguments: { workspace_id: "ws-000000000000" } })).rejects.toThrow(McpError);
      await expect(client.callTool({ name: "shell_open", arguments: { workspace_id: "ws-000000000000" } })).rejects.toThrow(/workspace-core profile/);
    } finally {
      await client.close();
      await pyro.close();
    }
  });
});

// Issue 14: agents written for the original send its request shapes; they must work unchanged.
describe("the original's request shapes, through the official MCP client", () => {
  const state = tempStateDir();
  let client: Client;
  let workspaceId: string | undefined;

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    client = await stdioClient(state.dir, []);
  }, 900_000);
  afterAll(async () => {
    if (workspaceId) await client.callTool({ name: "workspace_delete", arguments: { workspace_id: workspaceId } }).catch(() => undefined);
    await client?.close();
    state.cleanup();
  });

  const call = async (name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    return result.structuredContent as Record<string, unknown>;
  };

  it.skipIf(!sandbox.available)(`service_start with {type: "file"} readiness and secret_env {SECRET: ENV_VAR}; results keep pyro's shapes (needs ${sandbox.needs})`, async () => {
    const secret = "s3cr3t-value-for-shapes";
    const created = await call("workspace_create", {
      environment: "debian:12",
      backend: "sandbox",
      allow_host_compat: true,
      name: "shapes",
      labels: { suite: "mcp" },
      secrets: [{ name: "API_TOKEN", value: secret }],
    });
    workspaceId = created.workspace_id as string;
    expect([created.name, created.labels]).toEqual(["shapes", { suite: "mcp" }]);

    const started = await call("service_start", {
      workspace_id: workspaceId,
      service_name: "waiter",
      // Ready only once the variable named by the object form holds the secret.
      command: 'test "$MY_TOKEN" = "$(cat /run/pyro-secrets/API_TOKEN)" && touch ready.flag; exec sleep 300',
      readiness: { type: "file", path: "ready.flag" },
      secret_env: { API_TOKEN: "MY_TOKEN" },
      ready_timeout_seconds: 30,
    });
    expect(started.state).toBe("ready");
    expect(started.readiness).toMatchObject({ kind: "file", ready: true });

    const exec = await call("workspace_exec", { workspace_id: workspaceId, command: 'echo "len=${#MY_TOKEN}"', secret_env: { API_TOKEN: "MY_TOKEN" } });
    expect(exec.stdout).toBe(`len=${secret.length}\n`);
    // The list form keeps working, and is what the command history shows (one canonical shape).
    const listed = await call("workspace_exec", { workspace_id: workspaceId, command: 'echo "len=${#API_TOKEN}"', secret_env: ["API_TOKEN"] });
    expect(listed.stdout).toBe(`len=${secret.length}\n`);

    const renamed = await call("workspace_update", { workspace_id: workspaceId, name: "shapes-2", clear_labels: ["suite"] });
    expect([renamed.name, renamed.labels]).toEqual(["shapes-2", {}]);

    // A readiness object with both spellings is ambiguous: refused, naming the field.
    const both = await client.callTool({
      name: "service_start",
      arguments: { workspace_id: workspaceId, service_name: "both", command: "sleep 5", readiness: { type: "file", kind: "file", path: "x" } },
    });
    expect(both.isError).toBe(true);
    expect(JSON.stringify(both.content)).toContain('unknown field \\"type\\"');
    const badEnv = await client.callTool({ name: "workspace_exec", arguments: { workspace_id: workspaceId, command: "true", secret_env: { API_TOKEN: "not-a-var" } } });
    expect(badEnv.isError).toBe(true);
    expect(JSON.stringify(badEnv.content)).toContain("environment variable names");
  }, 180_000);
});
