import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { hostname } from "node:os";
import { isOwnerAlive, removeStaleLock, withLock } from "../util/lock.js";
import { PyroError } from "../util/errors.js";
import { cacheDirName, CATALOG } from "./catalog.js";
import { cacheWriteError } from "./fs-errors.js";
import { cacheLayout, ENV_FILES } from "./layout.js";
import { diskUsage } from "./disk-usage.js";
import type { PrunedEntry, PruneResult } from "./results.js";
import { pruneSnapshots } from "./snapshots.js";
import { cacheState } from "./status.js";

/** Top-level cache entries that belong to others (the shared kernel) or are pyro's own bookkeeping. */
const RESERVED = new Set(["tmp", "locks", "kernels", "snapshots", "images"]);

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function remove(path: string, kind: PrunedEntry["kind"], reason: string, removed: PrunedEntry[]): Promise<void> {
  const bytes = await diskUsage(path);
  await rm(path, { recursive: true, force: true });
  removed.push({ path, kind, reason, bytes });
}

/** `<env>.<pid>.<starttime>.<random>`: the owner of a pull's temp dir, if the name says. */
function tempOwner(name: string): { pid: number; start_time: number | null } | null {
  const match = /\.(\d+)\.(\d+)\.[^.]+(?:\.old)?$/.exec(name);
  if (!match) return null;
  const start = Number(match[2]);
  return { pid: Number(match[1]), start_time: start === 0 ? null : start };
}

/**
 * Remove what the cache no longer needs: temp dirs of pulls whose process is
 * gone, broken environment entries (no valid manifest, missing rootfs or
 * image), environments the catalog no longer lists, boot snapshots that
 * can no longer be used, and locks of dead processes. Live pulls, usable
 * snapshots and installed environments are never touched.
 */
export async function pruneCache(cacheDir: string): Promise<PruneResult> {
  const layout = cacheLayout(cacheDir);
  const removed: PrunedEntry[] = [];
  try {
    for (const name of await listDir(layout.tmp)) {
      const owner = tempOwner(name);
      if (owner && isOwnerAlive({ ...owner, host: hostname() })) continue;
      await remove(join(layout.tmp, name), "temp", owner ? `left by process ${owner.pid}, which is gone` : "unrecognised leftover", removed);
    }

    const known = new Map(CATALOG.map((entry) => [cacheDirName(entry.name), entry]));
    for (const name of await listDir(cacheDir)) {
      if (RESERVED.has(name)) continue;
      const path = join(cacheDir, name);
      const info = await stat(path).catch(() => null);
      if (!info?.isDirectory()) continue;
      const entry = known.get(name);
      if (!entry) {
        // Only directories that look like an environment of ours; anything else is left alone.
        const hasManifest = await stat(join(path, ENV_FILES.manifest)).then(() => true, () => false);
        if (hasManifest) await remove(path, "environment", "not in the current catalog", removed);
        continue;
      }
      try {
        await withLock(
          join(layout.locks, `${name}.lock`),
          async () => {
            const state = await cacheState(cacheDir, entry.name);
            if (state.status === "broken") await remove(path, "environment", state.reason, removed);
          },
          { timeoutMs: 2_000 },
        );
      } catch (error) {
        // A pull of this environment is running: it is not stale.
        if (!(error instanceof PyroError && error.code === "busy")) throw error;
      }
    }

    await pruneSnapshots(cacheDir, removed);

    for (const name of await listDir(layout.locks)) {
      const path = join(layout.locks, name);
      if (await removeStaleLock(path)) removed.push({ path, kind: "lock", reason: "held by a process that is gone", bytes: 0 });
    }
  } catch (error) {
    throw cacheWriteError(error, cacheDir);
  }
  return { cache_dir: cacheDir, removed, freed_bytes: removed.reduce((sum, item) => sum + item.bytes, 0) };
}
