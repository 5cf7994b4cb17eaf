import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { mcpToolDefinitions } from "../../src/mcp/server.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { CLI, pyroEnv, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

type Json = Record<string, unknown>;

// The file API and patch apply through the CLI (a real `pyro` process per call) and MCP (the official client over stdio).
describe.each(SUITE_BACKENDS)("workspace files through the CLI and MCP on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-files-faces-"));
  const env = pyroEnv(state.dir);
  const cli = (...args: string[]) => runCli(args, env, { timeoutMs: 300_000 });
  const cliJson = async (...args: string[]): Promise<Json> => {
    const run = await cli(...args, "--json");
    expect(run.code, run.stdout + run.stderr).toBe(0);
    return JSON.parse(run.stdout) as Json;
  };
  let client: Client;
  let id = "";

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    id = (await cliJson("workspace", "create", "debian:12", "--backend", backend, "--allow-host-compat")).workspace_id as string;
    client = new Client({ name: "pyro-files-test", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "serve"], env: env as Record<string, string>, stderr: "pipe" }));
  }, 900_000);
  afterAll(async () => {
    await client?.close();
    if (id) await cli("workspace", "delete", id);
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  }, 120_000);

  it.skipIf(!available)(`writes, reads, lists and patches through the CLI (needs ${needs})`, async () => {
    const written = await cliJson("workspace", "file", "write", id, "pkg/greet.sh", "--text", "echo hello\n");
    expect(written).toMatchObject({ path: "/workspace/pkg/greet.sh", bytes_written: 11, created: true });
    const source = join(host, "lib.txt");
    writeFileSync(source, "line one\nline two\n");
    expect((await cli("workspace", "file", "write", id, "pkg/lib.txt", "--text-file", source)).stdout).toBe(`Wrote 18 B to /workspace/pkg/lib.txt (new file)\n`);

    const contentOnly = await cli("workspace", "file", "read", id, "pkg/lib.txt", "--content-only");
    expect(contentOnly).toMatchObject({ code: 0, stdout: "line one\nline two\n", stderr: "" });
    const cut = await cliJson("workspace", "file", "read", id, "/workspace/pkg/lib.txt", "--max-bytes", "4");
    expect(cut).toMatchObject({ content: "line", truncated: true, size_bytes: 18, max_bytes: 4 });
    const listed = await cli("workspace", "file", "list", id, "--recursive");
    expect(listed.stdout).toBe(["0755       4096 /workspace/pkg/", "0644         11 /workspace/pkg/greet.sh", "0644         18 /workspace/pkg/lib.txt", ""].join("\n"));

    const patchFile = join(host, "change.diff");
    writeFileSync(patchFile, "--- a/pkg/lib.txt\n+++ b/pkg/lib.txt\n@@ -1,2 +1,2 @@\n line one\n-line two\n+line 2\n--- /dev/null\n+++ b/pkg/new.txt\n@@ -0,0 +1 @@\n+new\n");
    const applied = await cli("workspace", "patch", "apply", id, "--patch-file", patchFile);
    expect(applied).toMatchObject({ code: 0, stdout: "Applied the patch: 1 added, 1 modified, 0 deleted\nM /workspace/pkg/lib.txt\nA /workspace/pkg/new.txt\n" });
    const diff = await cliJson("workspace", "diff", id);
    expect((diff.files as Json[]).map((f) => [f.path, f.status])).toEqual(expect.arrayContaining([["pkg/lib.txt", "added"], ["pkg/new.txt", "added"]]));
    expect((await cli("workspace", "file", "read", id, "pkg/lib.txt", "--content-only")).stdout).toBe("line one\nline 2\n");

    // Applied again, it fails (exit 4, failed_precondition) and names what differs.
    const again = await cli("workspace", "patch", "apply", id, "--patch-file", patchFile);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('/workspace/pkg/lib.txt: hunk 1 of 1 (@@ -1,2 +1,2 @@) does not match: line 2: expected "line two", found "line 2"');
    expect(again.stderr).toContain("/workspace/pkg/new.txt already exists");

    // Usage errors: both text flags, a host file over the limit (refused before it is read), a directory read.
    const both = await cli("workspace", "file", "write", id, "x.txt", "--text", "a", "--text-file", source);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give --text or --text-file, not both");
    const huge = join(host, "huge.txt");
    writeFileSync(huge, Buffer.alloc(4 * 1024 * 1024 + 1, 97));
    const over = await cli("workspace", "file", "write", id, "x.txt", "--text-file", huge);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain("over the limit of 4194304 bytes");
    const dir = await cli("workspace", "file", "read", id, "pkg");
    expect(dir.code).not.toBe(0);
    expect(dir.stderr).toContain("error: /workspace/pkg is a directory, not a file");
  }, 600_000);

  it.skipIf(!available)(`drives an edit loop through MCP: read, patch, run the tests (needs ${needs})`, async () => {
    const call = async (name: string, args: Json) => {
      const result = await client.callTool({ name, arguments: { workspace_id: id, ...args } }, undefined, { timeout: 300_000 });
      return { isError: result.isError === true, data: result.structuredContent as Json, text: JSON.stringify(result.content) };
    };
    const write = await call("workspace_file_write", { path: "calc/add.sh", text: "add() { echo $(($1 - $2)); }\n" });
    expect(write.isError, write.text).toBe(false);
    await call("workspace_file_write", { path: "calc/test.sh", text: '. ./add.sh\n[ "$(add 2 3)" = 5 ] && echo PASS || { echo FAIL; exit 1; }\n' });
    const failing = await call("workspace_exec", { command: "cd calc && sh test.sh" });
    expect(failing.data).toMatchObject({ exit_code: 1, stdout: "FAIL\n" });

    const read = await call("workspace_file_read", { path: "calc/add.sh" });
    expect(read.data).toMatchObject({ path: "/workspace/calc/add.sh", content: "add() { echo $(($1 - $2)); }\n", truncated: false, binary: false });
    const fix = `--- a/calc/add.sh\n+++ b/calc/add.sh\n@@ -1 +1 @@\n-${String(read.data.content).trimEnd()}\n+add() { echo $(($1 + $2)); }\n`;
    const patched = await call("workspace_patch_apply", { patch: fix });
    expect(patched.isError, patched.text).toBe(false);
    expect(patched.data).toEqual({ workspace_id: id, changed: true, summary: { total: 1, added: 0, modified: 1, deleted: 0 }, entries: [{ path: "/workspace/calc/add.sh", status: "modified" }] });
    const passing = await call("workspace_exec", { command: "cd calc && sh test.sh" });
    expect(passing.data).toMatchObject({ exit_code: 0, stdout: "PASS\n" });

    // A stale patch is a tool error the model can act on, and changes nothing.
    const stale = await call("workspace_patch_apply", { patch: fix });
    expect(stale.isError).toBe(true);
    expect(stale.text).toContain("failed_precondition");
    expect(stale.text).toContain("nothing was changed");
    const listed = await call("workspace_file_list", { path: "calc" });
    expect((listed.data.entries as Json[]).map((e) => e.path)).toEqual(["/workspace/calc/add.sh", "/workspace/calc/test.sh"]);
    const outside = await call("workspace_file_read", { path: "../etc/shadow" });
    expect(outside.isError).toBe(true);
    expect(outside.text).toContain("outside /workspace");
  }, 600_000);
});

describe("the file tools as a model sees them", () => {
  it("say their defaults, limits and what comes back", () => {
    const tools = Object.fromEntries(mcpToolDefinitions().map((t) => [t.name, t]));
    const read = tools.workspace_file_read!;
    expect(read.description).toMatch(/at most max_bytes bytes \(default 65536\)/);
    expect(read.description).toMatch(/binary true/);
    expect(read.inputSchema.required).toEqual(["workspace_id", "path"]);
    expect(read.annotations?.readOnlyHint).toBe(true);
    expect(tools.workspace_file_write!.description).toMatch(/4 MiB/);
    const patch = tools.workspace_patch_apply!;
    expect(patch.description).toMatch(/nothing is written/);
    expect(patch.annotations?.destructiveHint).toBe(true);
    expect(Object.keys(tools.workspace_file_list!.inputSchema.properties ?? {})).toEqual(["workspace_id", "path", "recursive"]);
  });
});
