import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { transform } from "esbuild";
import { REPO_ROOT } from "./env.js";

/** What one example process printed. */
export interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Compile `examples/NAME.ts` to JavaScript inside the repository (`.cache/examples/`),
 * so that its `import … from "pyro-mcp"` resolves to this package (its
 * `exports`, i.e. the built `dist/`) as it would for a user, and its other
 * imports to this checkout's node_modules.
 */
export async function compileExample(name: string): Promise<string> {
  const source = readFileSync(join(REPO_ROOT, "examples", `${name}.ts`), "utf8");
  const { code } = await transform(source, { loader: "ts", format: "esm", target: "node20", sourcefile: `${name}.ts` });
  const dir = join(REPO_ROOT, ".cache", "examples");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${basename(name)}.mjs`);
  writeFileSync(out, code);
  return out;
}

/** Run a compiled example with `node`, as a user would run it, with these arguments and environment. */
export function runExample(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
