import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { isProcessAlive } from "../../src/util/process.js";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The environment cache shared by every suite of one test run (and kept
 * between runs on the same machine): environments are built once.
 */
export const TEST_CACHE_DIR = process.env.PYRO_TEST_CACHE_DIR ?? "/var/tmp/pyro-test-cache";

/** The repository root. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The built CLI entry. */
export const CLI = join(REPO_ROOT, "dist", "cli.js");

/**
 * Kill every machine process recorded under a state directory (VMs and
 * workspaces a failing or terse suite left running), so no test run leaves
 * orphans behind. Returns the ids it had to kill.
 */
export function killRecordedMachines(stateDir: string): string[] {
  const killed: string[] = [];
  for (const kind of ["vms", "workspaces"]) {
    const root = join(stateDir, kind);
    if (!existsSync(root)) continue;
    for (const id of readdirSync(root)) {
      let handle: Record<string, unknown> | null = null;
      try {
        handle = (JSON.parse(readFileSync(join(root, id, "record.json"), "utf8")) as { handle: Record<string, unknown> | null }).handle;
      } catch {
        continue;
      }
      const pids: Array<[unknown, unknown]> = [
        [handle?.pid, handle?.pidStartTime],
        [handle?.agentPid, handle?.agentPidStartTime],
      ];
      for (const [pid, startTime] of pids) {
        if (typeof pid === "number" && pid > 0 && isProcessAlive(pid, startTime as string | undefined)) {
          process.kill(pid, "SIGKILL");
          killed.push(id);
        }
      }
    }
  }
  // Pooled machines (core/pool): paused VMs owned by no record.
  const pool = join(stateDir, "pool");
  for (const name of existsSync(pool) ? readdirSync(pool) : []) {
    try {
      const handle = (JSON.parse(readFileSync(join(pool, name, "pool.json"), "utf8")) as { handle: { pid?: number; pidStartTime?: string } | null }).handle;
      if (typeof handle?.pid === "number" && isProcessAlive(handle.pid, handle.pidStartTime)) {
        process.kill(handle.pid, "SIGKILL");
        killed.push(name);
      }
    } catch {
      // not an entry
    }
  }
  return killed;
}

/** A fresh state directory; the returned cleanup kills any machine left in it, then removes it. */
export function tempStateDir(prefix = "pyro-state-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    cleanup: () => {
      const killed = killRecordedMachines(dir);
      if (killed.length > 0) process.stderr.write(`[test] killed machines left running: ${[...new Set(killed)].join(", ")}\n`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Environment variables for a child `pyro` process confined to test directories. */
export function pyroEnv(stateDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_ENVIRONMENT_CACHE_DIR: TEST_CACHE_DIR, ...extra };
}
