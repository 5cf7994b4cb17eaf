import { stat } from "node:fs/promises";
import { PyroError } from "../util/errors.js";
import { environmentPaths, type EnvironmentPaths } from "./layout.js";
import { readManifest, type EnvironmentManifest } from "./manifest.js";

/** State of one environment in the cache. */
export type CacheState =
  | { status: "installed"; manifest: EnvironmentManifest; paths: EnvironmentPaths }
  | { status: "not_installed"; paths: EnvironmentPaths }
  | { status: "broken"; reason: string; paths: EnvironmentPaths };

async function exists(path: string, kind: "dir" | "file"): Promise<boolean> {
  try {
    const info = await stat(path);
    return kind === "dir" ? info.isDirectory() : info.isFile();
  } catch {
    return false;
  }
}

/**
 * Whether `name` is installed in `cacheDir`: its directory holds a valid
 * `manifest.json` (written last, so its presence means the pull finished)
 * for that name, a rootfs directory and the ext4 image.
 */
export async function cacheState(cacheDir: string, name: string): Promise<CacheState> {
  const paths = environmentPaths(cacheDir, name);
  if (!(await exists(paths.dir, "dir"))) return { status: "not_installed", paths };
  let manifest: EnvironmentManifest | null;
  try {
    manifest = await readManifest(paths.manifest);
  } catch (error) {
    const reason = error instanceof PyroError ? error.message : `manifest unreadable: ${(error as Error).message}`;
    return { status: "broken", reason, paths };
  }
  if (!manifest) return { status: "broken", reason: "manifest.json is missing", paths };
  if (manifest.name !== name) return { status: "broken", reason: `manifest names ${manifest.name}`, paths };
  if (!(await exists(paths.rootfs, "dir"))) return { status: "broken", reason: "rootfs directory is missing", paths };
  if (!(await exists(paths.image, "file"))) return { status: "broken", reason: "rootfs.ext4 is missing", paths };
  return { status: "installed", manifest, paths };
}
