import { join } from "node:path";
import { cacheDirName } from "./catalog.js";

/** File and directory names inside one installed environment's directory. */
export const ENV_FILES = {
  manifest: "manifest.json",
  rootfs: "rootfs",
  image: "rootfs.ext4",
} as const;

/** Where the parts of the cache live, for one cache root. */
export interface CacheLayout {
  root: string;
  /** In-progress pulls (`<env>.<pid>.<random>`) and leftovers; emptied by prune. */
  tmp: string;
  /** One lock file per environment. */
  locks: string;
}

/** The layout of the cache rooted at `cacheDir`. */
export function cacheLayout(cacheDir: string): CacheLayout {
  return { root: cacheDir, tmp: join(cacheDir, "tmp"), locks: join(cacheDir, "locks") };
}

/** Paths of one environment in the cache. */
export interface EnvironmentPaths {
  dir: string;
  manifest: string;
  rootfs: string;
  image: string;
  lock: string;
}

/** Paths of environment `name` under `cacheDir` (installed or not). */
export function environmentPaths(cacheDir: string, name: string): EnvironmentPaths {
  const dir = join(cacheDir, cacheDirName(name));
  return {
    dir,
    manifest: join(dir, ENV_FILES.manifest),
    rootfs: join(dir, ENV_FILES.rootfs),
    image: join(dir, ENV_FILES.image),
    lock: join(cacheLayout(cacheDir).locks, `${cacheDirName(name)}.lock`),
  };
}
