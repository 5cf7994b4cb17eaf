import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { isOwnerAlive } from "../util/lock.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { diskUsage } from "./disk-usage.js";
import type { PrunedEntry } from "./results.js";

/*
 * Boot snapshots: a backend's saved state of a machine that has booted an
 * environment and not yet been given an identity, kept in the environment
 * cache so later machines of the same shape resume it instead of booting.
 * This module only stores them; what is inside belongs to the backend.
 */

/** Bumped when the layout of a snapshot directory changes. */
const SNAPSHOT_FORMAT = 1;
const META = "snapshot.json";
/** Drafts are named `.draft.<pid>.<random>`: prune can tell a live one from a leftover. */
const DRAFT_PREFIX = ".draft.";

/** A file a snapshot was made from, as `stat` saw it; a snapshot whose sources changed is stale. */
export interface FileStamp {
  path: string;
  size: number;
  mtime_ms: number;
  ino: number;
}

/** `snapshot.json`: written last, so a directory without it is not a snapshot. */
export interface SnapshotMeta {
  format: number;
  key: string;
  backend: string;
  created_at: string;
  /** Files the snapshot depends on (VMM binary, kernel, initramfs, root image). */
  sources: FileStamp[];
  /** Name → size of every file of the snapshot, checked before use. */
  files: Record<string, number>;
}

/** A usable snapshot. */
export interface BootSnapshot {
  dir: string;
  meta: SnapshotMeta;
}

/** Where boot snapshots live in the environment cache. */
export function snapshotsRoot(cacheDir: string): string {
  return join(cacheDir, "snapshots");
}

/** The stamp of `path` now; throws when it cannot be read. */
export function fileStamp(path: string): FileStamp {
  const s = statSync(path);
  return { path, size: s.size, mtime_ms: s.mtimeMs, ino: s.ino };
}

function sameStamp(a: FileStamp): boolean {
  try {
    const b = fileStamp(a.path);
    return b.size === a.size && b.mtime_ms === a.mtime_ms && b.ino === a.ino;
  } catch {
    return false;
  }
}

function readMeta(dir: string): SnapshotMeta | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, META), "utf8")) as SnapshotMeta;
    return meta.format === SNAPSHOT_FORMAT && typeof meta.key === "string" && Array.isArray(meta.sources) && typeof meta.files === "object" ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** Why the snapshot in `dir` cannot be used, or null when it can. */
function problemOf(dir: string, meta: SnapshotMeta | undefined): string | null {
  if (!meta) return "no valid snapshot.json";
  const changed = meta.sources.find((source) => !sameStamp(source));
  if (changed) return `${changed.path} changed since the snapshot was made`;
  for (const [name, size] of Object.entries(meta.files)) {
    let actual: number | undefined;
    try {
      actual = statSync(join(dir, name)).size;
    } catch {
      actual = undefined;
    }
    if (actual !== size) return `${name} is ${actual === undefined ? "missing" : `${actual} bytes, not ${size}`}`;
  }
  return null;
}

/** The snapshot stored under `key`, when it is complete and its sources are unchanged. Cheap: stats only. */
export function findSnapshot(cacheDir: string, key: string): BootSnapshot | undefined {
  const dir = join(snapshotsRoot(cacheDir), key);
  if (!existsSync(dir)) return undefined;
  const meta = readMeta(dir);
  return meta && meta.key === key && problemOf(dir, meta) === null ? { dir, meta } : undefined;
}

/** A snapshot being written: fill {@link dir}, then {@link publish} or {@link abandon}. */
export interface SnapshotDraft {
  /** A private directory (0700) in the snapshot store. */
  dir: string;
  /**
   * Record `files` (names in {@link dir}) and move the draft into place under
   * its key. When another process published the same key first, that one is
   * kept and this draft removed.
   */
  publish(files: string[]): Promise<void>;
  /** Remove the draft. */
  abandon(): Promise<void>;
}

/** Start a snapshot for `key`; its temporary name records this process, so prune can tell a live draft from a leftover. */
export async function draftSnapshot(cacheDir: string, key: string, backend: string, sources: FileStamp[]): Promise<SnapshotDraft> {
  const root = snapshotsRoot(cacheDir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = join(root, `${DRAFT_PREFIX}${process.pid}.${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { mode: 0o700 });
  return {
    dir,
    async publish(files: string[]): Promise<void> {
      const sizes = Object.fromEntries(files.map((name) => [name, statSync(join(dir, name)).size]));
      const meta: SnapshotMeta = { format: SNAPSHOT_FORMAT, key, backend, created_at: new Date().toISOString(), sources, files: sizes };
      await writeFileAtomic(join(dir, META), `${JSON.stringify(meta, null, 2)}\n`);
      try {
        await rename(dir, join(root, key));
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      }
    },
    async abandon(): Promise<void> {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Remove the snapshot stored under `key` (it failed to restore). */
export async function discardSnapshot(cacheDir: string, key: string): Promise<void> {
  await rm(join(snapshotsRoot(cacheDir), key), { recursive: true, force: true });
}

/** Every stored (published) snapshot, with the reason it is unusable (null when usable). Stats only. */
function storedSnapshots(cacheDir: string): Array<{ name: string; dir: string; meta: SnapshotMeta | undefined; problem: string | null }> {
  const root = snapshotsRoot(cacheDir);
  const names = existsSync(root) ? readdirSync(root).filter((name) => !name.startsWith(DRAFT_PREFIX)) : [];
  return names.map((name) => {
    const dir = join(root, name);
    const meta = readMeta(dir);
    return { name, dir, meta, problem: meta && meta.key !== name ? "stored under another key" : problemOf(dir, meta) };
  });
}

/** A usable snapshot, as `env inspect` reports it. */
export interface SnapshotSummary {
  key: string;
  backend: string;
  path: string;
  bytes: number;
  created_at: string;
}

/** The usable snapshots made from the root image `rootImage` (one per machine shape). Stats only. */
export function snapshotsOfImage(cacheDir: string, rootImage: string): SnapshotSummary[] {
  return storedSnapshots(cacheDir).flatMap(({ name, dir, meta, problem }) => {
    if (!meta || problem !== null || !meta.sources.some((source) => source.path === rootImage)) return [];
    const bytes = Object.values(meta.files).reduce((sum, size) => sum + size, 0);
    return [{ key: name, backend: meta.backend, path: dir, bytes, created_at: meta.created_at }];
  });
}

/**
 * Remove snapshots that can no longer be used (a source changed or is gone,
 * a file is missing or cut short) and drafts of processes that are gone.
 */
export async function pruneSnapshots(cacheDir: string, removed: PrunedEntry[]): Promise<void> {
  const root = snapshotsRoot(cacheDir);
  const drop = async (path: string, reason: string): Promise<void> => {
    removed.push({ path, kind: "snapshot", reason, bytes: await diskUsage(path) });
    await rm(path, { recursive: true, force: true });
  };
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const owner = draftOwner(name);
    if (owner !== undefined && !isOwnerAlive({ pid: owner, start_time: null, host: hostname() })) {
      await drop(join(root, name), `unfinished snapshot of process ${owner}, which is gone`);
    }
  }
  for (const { dir, problem } of storedSnapshots(cacheDir)) {
    if (problem !== null) await drop(dir, problem);
  }
}

/**
 * The pid in a draft's name (`.draft.<pid>.<random>`), undefined for a
 * published snapshot, and 0 (which counts as alive: left alone) for a draft
 * name pyro did not write.
 */
function draftOwner(name: string): number | undefined {
  if (!name.startsWith(DRAFT_PREFIX)) return undefined;
  const pid = Number(name.slice(DRAFT_PREFIX.length).split(".")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}
