import { spawn } from "node:child_process";
import { CLI } from "./env.js";

/** What one `pyro` invocation produced. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built `pyro` CLI as a real process. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, options: { timeoutMs?: number; input?: string; wrap?: string[] } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    // `wrap` runs the CLI under another command (e.g. `ip netns exec NS`).
    const [file, ...argv] = [...(options.wrap ?? []), process.execPath, CLI, ...args];
    const child = spawn(file!, argv, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}
