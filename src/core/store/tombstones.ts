import { randomBytes } from "node:crypto";
import { readdir, rename, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { killProcessesUnder } from "../../util/dir-processes.js";
import { PyroError } from "../../util/errors.js";

/**
 * A record directory on its way out is first renamed to `<root>/.trash-<id>-<random>`:
 * one rename(2) in the same parent, so the id is either wholly there or wholly
 * gone, however the removal that follows is interrupted.
 */
const PREFIX = ".trash-";

/** Whether a name under a record root is a tombstone (never a record). */
export function isTombstone(name: string): boolean {
  return name.startsWith(PREFIX);
}

/** The directory a tombstone was renamed from: its processes still name that path. */
function originalDir(root: string, name: string): string | null {
  const rest = name.slice(PREFIX.length);
  const cut = rest.lastIndexOf("-");
  return cut > 0 ? join(root, rest.slice(0, cut)) : null;
}

/**
 * Rename `<root>/<id>` to a fresh tombstone beside it; its path, or null when
 * there is no such directory (removed already).
 */
export async function entomb(root: string, id: string): Promise<string | null> {
  const tomb = join(root, `${PREFIX}${id}-${randomBytes(6).toString("hex")}`);
  try {
    await rename(join(root, id), tomb);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  return tomb;
}

/**
 * Remove a tombstone and everything in it. Another process may be removing
 * the same one (a deleter and a sweep): only a tombstone still there after
 * the error counts as a failure.
 */
export async function purge(tomb: string, what: string): Promise<void> {
  try {
    await rm(tomb, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  } catch (error) {
    if (!existsSync(tomb)) return;
    throw new PyroError("io_error", `the ${what} is deleted, but not all of its files could be removed from ${tomb}: ${(error as Error).message}`, {
      hint: "the next pyro start, or the next reap of expired VMs and workspaces, removes them again; or remove that directory by hand",
      cause: error,
    });
  }
}

/**
 * Remove every tombstone under `root` left by a removal that was killed half
 * way, killing first whatever still runs from it (under its old name or its
 * new one). Returns the tombstones removed.
 */
export async function sweepTombstones(root: string, what: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(root)).filter(isTombstone);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    const original = originalDir(root, name);
    if (original) await killProcessesUnder(original);
    await killProcessesUnder(join(root, name));
    // One that cannot be removed now (a busy mount) stays for the next sweep; the others go.
    if (await purge(join(root, name), what).then(() => true, () => false)) swept.push(name);
  }
  return swept;
}
