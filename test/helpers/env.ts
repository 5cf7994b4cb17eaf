import { mkdtempSync, rmSync } from "node:fs";
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

/** A fresh state directory, removed by the returned cleanup. */
export function tempStateDir(prefix = "pyro-state-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Environment variables for a child `pyro` process confined to test directories. */
export function pyroEnv(stateDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PYRO_STATE_DIR: stateDir, PYRO_ENVIRONMENT_CACHE_DIR: TEST_CACHE_DIR, ...extra };
}
