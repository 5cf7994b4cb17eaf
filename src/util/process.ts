import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { PyroError } from "./errors.js";
import type { StartGate } from "./start-gate.js";

/**
 * Start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat), or undefined when it does not exist. Together with the pid
 * it identifies a process across pid reuse.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Whether the process still runs and is the same one (start time matches, when known). Zombies count as gone. */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") return false;
    return startTime === undefined || rest[19] === startTime;
  } catch {
    return false;
  }
}

/**
 * Send a signal, ignoring a process that is already gone; with `startTime`,
 * only if the pid still names the process that was started.
 */
export function signalProcess(pid: number, signal: NodeJS.Signals, startTime?: string): void {
  if (startTime !== undefined && !isProcessAlive(pid, startTime)) return;
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Resolve once `check()` is true, polling every `intervalMs`; false at the deadline. */
export async function waitFor(check: () => boolean, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Wait until the process is gone; true when it went before `timeoutMs`. */
export function waitForExit(pid: number, startTime: string | undefined, timeoutMs: number): Promise<boolean> {
  return waitFor(() => !isProcessAlive(pid, startTime), timeoutMs, 5);
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@link spawnDetached}. */
export interface SpawnDetachedOptions {
  /** File that receives stdout (appended). */
  stdoutPath: string;
  /** File that receives stderr (appended). */
  stderrPath: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** How to fix a binary that cannot start (names the setting that chose it). */
  hint?: string;
  /**
   * Give the child a stdin pipe that `gate` holds (start-gate.ts); the child
   * must begin with GATE_WAIT to wait for it. Without, stdin is /dev/null.
   */
  gate?: StartGate;
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
      stdio: [options.gate ? "pipe" : "ignore", out, err],
      env: options.env,
      cwd: options.cwd,
    });
    return new Promise((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          new PyroError("unavailable", `cannot start ${file}: ${error.message}`, {
            hint: options.hint ?? "check that the binary exists and is executable",
            details: { binary: file, ...(error.code ? { errno: error.code } : {}) },
            cause: error,
          }),
        );
      });
      child.once("spawn", () => {
        const pid = child.pid;
        if (options.gate && child.stdin) options.gate.hold(child.stdin);
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

