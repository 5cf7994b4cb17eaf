import { mkdir, readdir, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PyroError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { withLock } from "../../util/lock.js";
import { entomb, isTombstone, purge, sweepTombstones } from "./tombstones.js";

const RECORD_FILE = "record.json";
const LOCK_FILE = "record.lock";

/**
 * JSON records, one directory per record under `root`: `<root>/<id>/record.json`.
 * Writes are atomic; `update` serialises read-modify-write across processes
 * with a lock file beside the record. Removal is atomic too: the directory is
 * renamed to a tombstone (tombstones.ts) before its files are removed.
 */
export class RecordStore<T extends { schema: number }> {
  constructor(
    readonly root: string,
    private readonly what: string,
    private readonly notFoundHint: string,
  ) {}

  /** The directory that holds one record and everything that belongs to it. */
  dir(id: string): string {
    return join(this.root, id);
  }

  /**
   * Create the record's directory and first version; fails if it exists.
   * `populate` fills the directory before the record appears in it.
   */
  async create(id: string, record: T, options: { durable?: boolean; populate?: (dir: string) => Promise<void> } = {}): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(this.dir(id), { mode: 0o700 });
    if (options.populate) await options.populate(this.dir(id));
    await writeFileAtomic(join(this.dir(id), RECORD_FILE), JSON.stringify(record, null, 2), { durable: options.durable });
  }

  /** Read a record; `not_found` when absent, `corrupt_state` when unreadable. */
  async read(id: string): Promise<T> {
    let text: string;
    try {
      text = await readFile(join(this.dir(id), RECORD_FILE), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new PyroError("not_found", `no ${this.what} with id ${JSON.stringify(id)}`, { hint: this.notFoundHint });
      }
      throw new PyroError("io_error", `cannot read the ${this.what} record ${id}: ${(error as Error).message}`);
    }
    try {
      const record = JSON.parse(text) as T;
      if (typeof record !== "object" || record === null || typeof record.schema !== "number") throw new Error("not a record");
      return record;
    } catch {
      throw new PyroError("corrupt_state", `the ${this.what} record ${id} is corrupt (${join(this.dir(id), RECORD_FILE)})`, {
        hint: `delete it with the ${this.what} delete command, or remove that directory by hand`,
      });
    }
  }

  /** Replace a record (caller holds the lock). */
  async write(id: string, record: T, options: { durable?: boolean } = {}): Promise<void> {
    await writeFileAtomic(join(this.dir(id), RECORD_FILE), JSON.stringify(record, null, 2), options);
  }

  /**
   * Run `fn` holding the record's cross-process lock; `not_found` when the
   * record is, or goes while this waits for the lock (a delete renamed its
   * directory away: the lock must not make it again).
   */
  async locked<R>(id: string, fn: () => Promise<R>, timeoutMs = 60_000): Promise<R> {
    await this.read(id);
    try {
      return await withLock(join(this.dir(id), LOCK_FILE), fn, { timeoutMs, makeDir: false });
    } catch (error) {
      if (error instanceof PyroError && error.code === "io_error" && !existsSync(this.dir(id))) await this.read(id);
      throw error;
    }
  }

  /** Read, change and write a record under its lock. */
  async update(id: string, change: (record: T) => T | Promise<T>, options: { durable?: boolean } = {}): Promise<T> {
    return this.locked(id, async () => {
      const next = await change(await this.read(id));
      await this.write(id, next, options);
      return next;
    });
  }

  /** Ids of every record directory (complete or not); never a tombstone. */
  async ids(): Promise<string[]> {
    try {
      return (await readdir(this.root, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && !isTombstone(e.name))
        .map((e) => e.name)
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }

  /**
   * Remove a record and everything in its directory: the id goes at once
   * (one rename to a tombstone), its files after. A removal killed half way
   * leaves a tombstone, never a directory without its record; {@link sweep}
   * finishes it.
   */
  async remove(id: string): Promise<void> {
    const tomb = await entomb(this.root, id);
    if (tomb) await purge(tomb, `${this.what} ${id}`);
  }

  /** Finish every removal that was killed half way (their tombstones); returns how many. */
  async sweep(): Promise<number> {
    return (await sweepTombstones(this.root, this.what)).length;
  }
}
