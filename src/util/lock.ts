import { open, readFile, rename, unlink, stat, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { PyroError } from "./errors.js";
import { processStartTime } from "./process.js";

/** What a lock file holds: enough to tell a live holder from a dead one. */
export interface LockOwner {
  pid: number;
  /** Kernel start time of `pid` (clock ticks since boot), to detect pid reuse. */
  start_time: number | null;
  host: string;
  acquired_at: string;
}

/** Options of {@link withLock}. */
export interface LockOptions {
  /** Give up with a `busy` PyroError after this long (default 10 minutes). */
  timeoutMs?: number;
  /** How often to retry while another live process holds the lock (default 100 ms). */
  pollMs?: number;
  /** Called once when the lock is found held by a live process, before waiting. */
  onWait?: (owner: LockOwner | null) => void;
  /**
   * Create the lock's directory when it is missing (default true). False for a
   * lock inside what it guards: a directory removed meanwhile must stay removed.
   */
  makeDir?: boolean;
}

/** A process's start time as the number lock files store, or null where /proc cannot tell. */
function startTicks(pid: number): number | null {
  const value = Number(processStartTime(pid));
  return Number.isFinite(value) ? value : null;
}

/**
 * Whether the process that wrote `owner` still runs on this host. A pid that
 * is alive but started at another time is a reused pid, so the owner is dead.
 * Owners from another host are assumed alive (only the timeout can free them).
 */
export function isOwnerAlive(owner: Pick<LockOwner, "pid" | "start_time" | "host">): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  if (owner.start_time === null) return true;
  const now = startTicks(owner.pid);
  return now === null ? false : now === owner.start_time;
}

/** The {@link LockOwner} record of the calling process. */
export function currentOwner(): LockOwner {
  return {
    pid: process.pid,
    start_time: startTicks(process.pid),
    host: hostname(),
    acquired_at: new Date().toISOString(),
  };
}

async function readOwner(path: string): Promise<LockOwner | null | "missing"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string") return null;
    return { pid: parsed.pid, start_time: parsed.start_time ?? null, host: parsed.host, acquired_at: String(parsed.acquired_at ?? "") };
  } catch {
    return null;
  }
}

async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    // No fsync: other processes read the page cache, and a lock outlives no reboot
    // (its owner is gone then; an empty file left by a crash goes stale after UNREADABLE_STALE_MS).
    await handle.writeFile(JSON.stringify(owner));
  } finally {
    await handle.close();
  }
  return true;
}

/** Age after which an unreadable lock file (writer died between create and write) counts as stale. */
const UNREADABLE_STALE_MS = 10_000;
/** A breaker file older than this belongs to a process that died mid-break. */
const BREAKER_STALE_MS = 10_000;

/**
 * Remove `path` if it is still held by a dead owner. Only the holder of
 * `path.break` may unlink a stale lock, so two processes can never both
 * break it and then delete each other's fresh lock.
 */
async function breakIfStale(path: string): Promise<void> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, currentOwner()))) {
    try {
      const info = await stat(breaker);
      if (Date.now() - info.mtimeMs > BREAKER_STALE_MS) await unlink(breaker).catch(() => undefined);
    } catch {
      // Breaker vanished meanwhile: the next poll retries.
    }
    return;
  }
  try {
    const owner = await readOwner(path);
    if (owner === "missing") return;
    let stale: boolean;
    if (owner === null) {
      const info = await stat(path).catch(() => null);
      stale = info !== null && Date.now() - info.mtimeMs > UNREADABLE_STALE_MS;
    } else {
      stale = !isOwnerAlive(owner);
    }
    if (stale) {
      // Rename first so a concurrent reader never sees a half-deleted file.
      const grave = `${path}.stale-${randomBytes(4).toString("hex")}`;
      await rename(path, grave);
      await unlink(grave).catch(() => undefined);
    }
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

function lockIoError(path: string, error: unknown): PyroError {
  const code = (error as NodeJS.ErrnoException).code ?? "unknown";
  return new PyroError("io_error", `cannot create lock file ${path}: ${code}`, {
    hint: `make ${dirname(path)} writable by this user (and not read-only or full)`,
    details: { path, errno: code },
    cause: error,
  });
}

/**
 * Remove the lock file at `path` if its holder is gone (or, for a leftover
 * `.break` file, if it is old). Returns whether something was removed; a lock
 * of a live process is never touched. Used to tidy lock directories.
 */
export async function removeStaleLock(path: string): Promise<boolean> {
  if (path.endsWith(".break")) {
    const info = await stat(path).catch(() => null);
    if (!info || Date.now() - info.mtimeMs <= BREAKER_STALE_MS) return false;
    await unlink(path).catch(() => undefined);
    return true;
  }
  const before = await stat(path).catch(() => null);
  if (!before) return false;
  await breakIfStale(path);
  return (await stat(path).catch(() => null)) === null;
}

/**
 * One attempt at the lock file at `path`: resolves to its release function, or
 * null when a live process holds it (a dead holder's lock is broken first,
 * then taken). Never waits; `io_error` when the directory cannot be written.
 * Counting slots (slots.ts) are made of these.
 */
export async function tryAcquireLock(path: string): Promise<(() => Promise<void>) | null> {
  const owner = currentOwner();
  for (let attempt = 0; attempt < 2; attempt++) {
    let created: boolean;
    try {
      created = await tryCreate(path, owner);
    } catch (error) {
      throw lockIoError(path, error);
    }
    if (created) return releaser(path, owner);
    // Held: by a dead owner it is broken and the second attempt may take it.
    if (attempt === 0) await breakIfStale(path).catch(() => undefined);
  }
  return null;
}

/** The release function of a lock file `owner` created: removes it only while it is still `owner`'s. */
function releaser(path: string, owner: LockOwner): () => Promise<void> {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const current = await readOwner(path).catch(() => null);
    // Never delete a lock someone else took after ours was (wrongly) broken.
    if (current !== "missing" && current !== null && current.pid === owner.pid && current.acquired_at === owner.acquired_at) {
      await unlink(path).catch(() => undefined);
    }
  };
}

/**
 * Take the lock file at `path`, exclusively across processes on this host.
 * Resolves to a release function. Locks left by a dead process (the pid in the
 * file is gone, or was reused by a newer process) are broken automatically.
 * Throws PyroError `busy` after `timeoutMs`, `io_error` when the lock
 * directory cannot be written.
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const pollMs = options.pollMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  const owner = currentOwner();
  let announced = false;
  try {
    if (options.makeDir !== false) await mkdir(dirname(path), { recursive: true });
  } catch (error) {
    throw lockIoError(path, error);
  }
  for (;;) {
    let created: boolean;
    try {
      created = await tryCreate(path, owner);
    } catch (error) {
      throw lockIoError(path, error);
    }
    if (created) return releaser(path, owner);
    await breakIfStale(path).catch(() => undefined);
    if (!announced && options.onWait) {
      announced = true;
      const holder = await readOwner(path).catch(() => null);
      options.onWait(holder === "missing" ? null : holder);
    }
    if (Date.now() >= deadline) {
      const holder = await readOwner(path).catch(() => null);
      const who = holder && holder !== "missing" ? ` by pid ${holder.pid}` : "";
      throw new PyroError("busy", `lock ${path} is held${who} for longer than ${Math.round(timeoutMs / 1000)} s`, {
        hint: "wait for the other pyro process to finish, or stop it; a lock of a dead process is removed automatically",
        details: { path, ...(holder && holder !== "missing" ? { holder_pid: holder.pid } : {}) },
      });
    }
    await sleep(pollMs);
  }
}

/**
 * Run `fn` while holding the lock file at `path` (see {@link acquireLock}),
 * releasing it afterwards whether `fn` resolves or throws.
 *
 * @example
 * await withLock(join(dir, "record.lock"), async () => updateRecord(), { timeoutMs: 30_000 });
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const release = await acquireLock(path, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Who holds the lock file at `path` now (live or not), or null when it is free or unreadable. */
export async function lockHolder(path: string): Promise<LockOwner | null> {
  const owner = await readOwner(path).catch(() => null);
  return owner === "missing" ? null : owner;
}
