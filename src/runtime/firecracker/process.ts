import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { PyroError } from "../../util/errors.js";

/** Options of {@link spawnDetached}. */
export interface SpawnDetachedOptions {
  /** File that receives stdout (appended). */
  stdoutPath: string;
  /** File that receives stderr (appended). */
  stderrPath: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A detached process identified by pid and start time (guards against pid reuse). */
export interface DetachedProcess {
  pid: number;
  startTime: string | undefined;
}

/**
 * Start `file args` in its own session, stdin from /dev/null, stdout/stderr
 * appended to files, not tied to this process: it survives the caller.
 */
export function spawnDetached(file: string, args: string[], options: SpawnDetachedOptions): Promise<DetachedProcess> {
  const out = openSync(options.stdoutPath, "a", 0o600);
  const err = openSync(options.stderrPath, "a", 0o600);
  try {
    const child = spawn(file, args, {
      detached: true,
      stdio: ["ignore", out, err],
      env: options.env,
      cwd: options.cwd,
    });
    return new Promise((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          new PyroError("unavailable", `cannot start ${file}: ${error.message}`, {
            hint: "check that the binary exists and is executable (PYRO_FIRECRACKER_BIN / PYRO_JAILER_BIN)",
            details: { binary: file, ...(error.code ? { errno: error.code } : {}) },
            cause: error,
          }),
        );
      });
      child.once("spawn", () => {
        const pid = child.pid;
        child.unref();
        if (pid === undefined) {
          reject(new PyroError("internal", `spawned ${file} without a pid`, { hint: "this is a bug in pyro" }));
          return;
        }
        resolve({ pid, startTime: processStartTime(pid) });
      });
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

function readStat(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  return text.slice(close + 2).trim().split(/\s+/);
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  // After the comm field, index 0 is field 3 (state); field 22 is index 19.
  return readStat(pid)?.[19];
}

/**
 * Whether `pid` is alive, not a zombie, and (when `startTime` is given) still
 * the same process that was started.
 */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const fields = readStat(pid);
  if (!fields) return false;
  if (fields[0] === "Z" || fields[0] === "X") return false;
  return startTime === undefined || fields[19] === startTime;
}

/** Wait until {@link isProcessAlive} turns false; true when it did before `timeoutMs`. */
export async function waitForExit(pid: number, startTime: string | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isProcessAlive(pid, startTime)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(25, Math.max(1, deadline - Date.now())));
  }
}

/** Send `signal` to the process if it is still the one we started; ignore "no such process". */
export function signalProcess(pid: number, startTime: string | undefined, signal: NodeJS.Signals): void {
  if (!isProcessAlive(pid, startTime)) return;
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
