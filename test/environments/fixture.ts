import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pullEnvironment } from "../../src/environments/index.js";
import { resolveConfig } from "../../src/util/config.js";
import { TEST_CACHE_DIR } from "../helpers/env.js";

/**
 * The agent the environment suites inject: the real one when it was built,
 * else busybox (any static ELF will do for cache and OCI tests). Environments
 * built with the stand-in go to their own cache so that VM suites never boot
 * them.
 */
export const REAL_AGENT = existsSync(resolveConfig().agent.bin);

/** Environment for pulls in these suites. */
export const TEST_ENV: NodeJS.ProcessEnv = REAL_AGENT
  ? { ...process.env, PYRO_OCI_REGISTRY: "none" }
  : { ...process.env, PYRO_AGENT_BIN: "/bin/busybox", PYRO_OCI_REGISTRY: "none" };

/** The cache holding the locally built `debian:12-base`, shared across files and runs. */
export const SHARED_CACHE = REAL_AGENT ? TEST_CACHE_DIR : `${TEST_CACHE_DIR}-stub-agent`;

/** Build `debian:12-base` locally into {@link SHARED_CACHE} once (a no-op when it is there). */
export async function sharedBaseEnvironment(): Promise<Awaited<ReturnType<typeof pullEnvironment>>> {
  return pullEnvironment("debian:12-base", { cacheDir: SHARED_CACHE, env: TEST_ENV, source: "local" });
}

/** A fresh empty directory, removed by `cleanup`. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
