import { spawn, type ChildProcess } from "node:child_process";
import { CLI } from "./env.js";

/** A line the CLI printed, with the host time (ms since the epoch) at which the test read it. */
export interface ReadLine {
  text: string;
  at: number;
}

/** A running `pyro` process whose output lines are timestamped as they are read. */
export interface LiveCli {
  child: ChildProcess;
  stdout: ReadLine[];
  stderr: ReadLine[];
  /** Resolves with the first stdout or stderr line that matches. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, timeoutMs?: number): Promise<ReadLine>;
  /** Resolves with the exit code once the process closed its streams. */
  exited: Promise<number | null>;
}

/**
 * Start the built CLI and timestamp every output line when it is read: what
 * a test needs to prove that output arrived while the command still ran.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): LiveCli {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const lines = { stdout: [] as ReadLine[], stderr: [] as ReadLine[] };
  const waiters: Array<{ stream: "stdout" | "stderr"; pattern: RegExp; resolve: (line: ReadLine) => void }> = [];
  for (const stream of ["stdout", "stderr"] as const) {
    let partial = "";
    child[stream]!.setEncoding("utf8").on("data", (chunk: string) => {
      const at = Date.now();
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const text of parts) {
        const line = { text, at };
        lines[stream].push(line);
        for (const waiter of waiters.filter((w) => w.stream === stream && w.pattern.test(text))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return {
    child,
    ...lines,
    exited,
    waitFor: (stream, pattern, waitMs = 120_000) =>
      new Promise<ReadLine>((resolve, reject) => {
        const seen = lines[stream].find((line) => pattern.test(line.text));
        if (seen) return resolve(seen);
        const t = setTimeout(() => reject(new Error(`no ${stream} line matching ${pattern} within ${waitMs} ms; stderr:\n${lines.stderr.map((l) => l.text).join("\n")}`)), waitMs);
        waiters.push({ stream, pattern, resolve: (line) => (clearTimeout(t), resolve(line)) });
        void exited.then(() => setTimeout(() => reject(new Error(`pyro exited before printing ${pattern}; stderr:\n${lines.stderr.map((l) => l.text).join("\n")}`)), 50));
      }),
  };
}
