import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT_CODES } from "../../src/cli/exit-codes.js";
import { Pyro, PyroError } from "../../src/index.js";
import { runCli } from "../helpers/cli.js";
import { CLI, REPO_ROOT, TEST_CACHE_DIR, pyroEnv, tempStateDir } from "../helpers/env.js";

/** Run the CLI with its stdout on a real pipe whose reader is closed before the CLI writes a byte. */
function runWithClosedStdout(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    // Our end of the pipe goes away at once, like `| head -0` or a pager quit early.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

describe("CLI output details", () => {
  const state = tempStateDir();
  const env = pyroEnv(state.dir);
  afterAll(() => state.cleanup());

  it("exits quietly when the reader closes stdout early (no EPIPE stack trace)", async () => {
    for (const args of [["env", "list"], ["--help"], ["workspace", "list", "--json"], ["workspace", "status", "ws-000000000000", "--json"]]) {
      const result = await runWithClosedStdout(args, env);
      expect(result.stderr, args.join(" ")).not.toMatch(/EPIPE|Unhandled 'error' event|\n\s+at /);
      // The command's own status: 0, or 3 for the unknown workspace.
      expect(result.code, args.join(" ")).toBe(args[1] === "status" ? 3 : 0);
    }
  });

  it("describes --no-newline as turning the newline off", async () => {
    const help = await runCli(["workspace", "shell", "write", "--help"], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--no-newline\s+Do not append a newline\n/);
    expect(help.stdout).not.toContain("Append a newline (default true)");
  });

  it("never tells a user to list VMs, which have no listing", async () => {
    const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    for (const vm_id of ["nope", "vm-000000000000"]) {
      const error = await pyro.statusVm({ vm_id }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PyroError);
      expect((error as PyroError).code).toBe("not_found");
      expect((error as PyroError).hint).not.toMatch(/list them/);
      expect((error as PyroError).hint).toMatch(/vm-0123456789ab/);
    }
    const workspace = await pyro.statusWorkspace({ workspace_id: "nope" }).catch((e: unknown) => e);
    expect((workspace as PyroError).hint).toContain("pyro workspace list");
  });

  it("documents every exit code in the README's CLI section", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("\n## CLI\n"), readme.indexOf("\n## ", readme.indexOf("\n## CLI\n") + 1));
    const sentence = section.slice(section.indexOf("Other exit codes:")).replace(/\s+/g, " ");
    for (const code of new Set(Object.values(EXIT_CODES))) expect(sentence, `exit code ${code}`).toMatch(new RegExp(`[:,] ${code} \\S`));
  });
});
