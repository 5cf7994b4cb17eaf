import { spawn } from "node:child_process";
import { PyroError } from "../util/errors.js";

/** Options of {@link runTool}. */
export interface RunToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each complete stderr line (progress of long tools). */
  onStderrLine?: (line: string) => void;
  /** What to tell the user when the tool is not installed. */
  missingHint: string;
}

/** Last lines of a tool's stderr, kept for error messages. */
const STDERR_TAIL_LINES = 20;

/**
 * Run a host tool to completion. Rejects with PyroError `unavailable` when it
 * is not installed and with `io_error` (message carrying the stderr tail, the
 * errno-like text the caller maps) when it exits non-zero.
 */
export function runTool(command: string, args: string[], options: RunToolOptions): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const tail: string[] = [];
    let partial = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      if (stdout.length < 1 << 20) stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > STDERR_TAIL_LINES) tail.shift();
        options.onStderrLine?.(line);
      }
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        reject(new PyroError("unavailable", `${command} is not installed`, { hint: options.missingHint, cause: error }));
      } else {
        reject(error);
      }
    });
    child.on("close", (code, signal) => {
      if (partial) tail.push(partial);
      const stderr = tail.join("\n");
      if (code === 0) {
        resolvePromise({ stdout, stderr });
        return;
      }
      const status = signal ? `signal ${signal}` : `exit code ${code}`;
      reject(new ToolFailure(command, status, stderr));
    });
  });
}

/** A host tool exited non-zero; `stderr` holds its last lines. */
export class ToolFailure extends Error {
  constructor(
    readonly command: string,
    readonly status: string,
    readonly stderr: string,
  ) {
    super(`${command} failed (${status})${stderr ? `: ${stderr.split("\n").slice(-5).join(" | ")}` : ""}`);
    this.name = "ToolFailure";
  }

  /** Whether the tool's output says the disk filled up. */
  get noSpace(): boolean {
    return /No space left on device|ENOSPC|Could not allocate block|Disk quota exceeded/i.test(this.stderr);
  }

  /** Whether the tool's output says it could not write. */
  get notWritable(): boolean {
    return /Read-only file system|Permission denied|Operation not permitted/i.test(this.stderr);
  }
}
