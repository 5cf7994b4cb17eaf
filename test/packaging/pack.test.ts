import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { pyroEnv, REPO_ROOT, TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

const qemu = SUITE_BACKENDS.find((b) => b.name === "qemu")!;

/** The packed tarball must stay small: it was 3.0 MB before source maps left it. */
const MAX_TARBALL_BYTES = 3_000_000;

interface McpConfig {
  mcpServers: Record<string, { command: string; args: string[]; env?: Record<string, string> }>;
}

describe.skipIf(!qemu.available)(`the npm package, packed and installed into an empty project (needs ${qemu.needs} and the npm registry)`, () => {
  const work = mkdtempSync(join(tmpdir(), "pyro-pack-"));
  const app = join(work, "app");
  const state = tempStateDir();
  let tarball = "";
  let env: NodeJS.ProcessEnv;
  // The installed CLI, run as `node …/pyro` so the test does not depend on PATH.
  const installedCli = () => join(app, "node_modules", "pyro-mcp", "dist", "cli.js");

  beforeAll(async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR });
    // dist/ and the agent are built by setup; --ignore-scripts skips prepack's rebuild.
    const name = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], { cwd: REPO_ROOT, encoding: "utf8" }).trim().split("\n").at(-1)!;
    tarball = join(work, name);
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pyro-pack-check", private: true }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--silent", tarball], { cwd: app, stdio: ["ignore", "ignore", "inherit"] });
    env = pyroEnv(state.dir, { PYRO_BACKEND: "qemu" });
  }, 900_000);
  afterAll(() => {
    state.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it("is small, and holds what users need and nothing of the build", () => {
    expect(statSync(tarball).size).toBeLessThan(MAX_TARBALL_BYTES);
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const needed of ["package/dist/cli.js", "package/dist/index.js", "package/dist/index.d.ts", "package/agent/dist/pyro-agent", "package/docs/troubleshooting.md", "package/examples/sdk-run.ts"]) {
      expect(files).toContain(needed);
    }
    expect(files.filter((file) => file.endsWith(".map"))).toEqual([]);
    expect(files.filter((file) => /^package\/(src|test|agent\/internal|scripts|bench)\//.test(file))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(app, "node_modules", "pyro-mcp", "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest).toMatchObject({ os: ["linux"], cpu: ["x64"], bin: { pyro: "dist/cli.js" } });
  });

  it("its `pyro doctor` and `pyro run debian:12 -- …` work from the install", () => {
    const bin = join(app, "node_modules", ".bin", "pyro");
    const installedDoctor = execFileSync(bin, ["doctor", "--json"], { env, encoding: "utf8" });
    expect(JSON.parse(installedDoctor)).toMatchObject({ runtime: { ok: true }, selected_backend: "qemu" });
    const run = execFileSync(process.execPath, [installedCli(), "run", "debian:12", "--json", "--", "echo packed-ok"], { env, encoding: "utf8" });
    expect(JSON.parse(run)).toMatchObject({ exit_code: 0, stdout: "packed-ok\n", backend: "qemu" });
  });

  for (const file of ["claude-desktop.json", "cursor.json"]) {
    it(`examples/mcp/${file} starts a server the official MCP client can use`, async () => {
      const config = JSON.parse(readFileSync(join(REPO_ROOT, "examples", "mcp", file), "utf8")) as McpConfig;
      const server = config.mcpServers.pyro!;
      // `npx -y pyro-mcp` finds the package installed in `app`, as it would the published one.
      const transport = new StdioClientTransport({ command: server.command, args: server.args, cwd: app, env: { ...(env as Record<string, string>), ...server.env }, stderr: "pipe" });
      const client = new Client({ name: "pack-test", version: "1.0.0" });
      await client.connect(transport);
      try {
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name)).toContain("vm_run");
        const result = await client.callTool({ name: "vm_run", arguments: { environment: "debian:12", command: "echo from-mcp" } });
        expect(result.isError).toBeFalsy();
        expect(result.structuredContent).toMatchObject({ exit_code: 0, stdout: "from-mcp\n" });
      } finally {
        await client.close();
      }
    });
  }

  it("examples/mcp/claude-code.md adds the same command as the JSON configurations", () => {
    const text = readFileSync(join(REPO_ROOT, "examples", "mcp", "claude-code.md"), "utf8");
    const config = JSON.parse(readFileSync(join(REPO_ROOT, "examples", "mcp", "cursor.json"), "utf8")) as McpConfig;
    const { command, args } = config.mcpServers.pyro!;
    expect(text).toContain(`claude mcp add pyro --scope user -- ${[command, ...args].join(" ")}`);
  });
});
