import { constants, createWriteStream, mkdirSync, openSync, symlinkSync } from "node:fs";
import { chmod, utimes } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Writable } from "node:stream";
import type { ReadEntry } from "tar";
import { PyroError } from "../../util/errors.js";
import { MAX_ARCHIVE_ENTRIES, MAX_ARCHIVE_PATH } from "./limits.js";
import { tarReader } from "./tar-reader.js";

/** Bounds and expectations of one host-side extraction. */
export interface HostExtractOptions {
  /** A fresh, empty host directory this extraction owns. */
  root: string;
  /** The one top-level name every entry must be (or be under). */
  top: string;
  maxBytes: number;
  maxEntries?: number;
}

/** What an extraction wrote. */
export interface HostExtractResult {
  entries: number;
  bytes: number;
  /** Kind of the top-level entry. */
  kind: "file" | "directory";
  /** Symlinks not recreated because their target is absolute or leaves the exported tree. */
  droppedSymlinks: string[];
}

/**
 * Extract a tar that came from the guest (hostile) into a fresh host directory.
 * Only regular files, directories and symlinks; names must be relative, free
 * of `..` and under `top`; sizes and counts are bounded. Symlinks are made
 * last, and only when their target is relative and stays inside `top`, so no
 * write ever goes through one; files are created O_EXCL|O_NOFOLLOW in
 * directories this extraction made itself. Nothing is chowned; setuid, setgid
 * and sticky bits are dropped.
 */
export class HostExtractor {
  readonly sink: Writable;
  private readonly dirs = new Map<string, { mode: number; mtime?: Date }>();
  private readonly writes: Array<Promise<void>> = [];
  private readonly symlinks: Array<{ name: string; target: string }> = [];
  private entries = 0;
  private bytes = 0;
  private topKind: "file" | "directory" | "symlink" | null = null;
  private failure: Error | null = null;

  constructor(private readonly options: HostExtractOptions) {
    this.sink = tarReader((entry) => this.entry(entry));
    this.sink.on("error", (error) => {
      this.failure ??= error;
    });
  }

  /** The extraction's own refusal (an unsafe entry, a limit, a host write error), if any so far. */
  get error(): Error | null {
    return this.failure;
  }

  /** Wait for every file to be written, then make symlinks and apply directory modes. */
  async finish(): Promise<HostExtractResult> {
    await Promise.all(this.writes);
    if (this.failure) throw this.failure;
    if (this.topKind === null) throw new PyroError("guest_failure", "the guest sent an empty archive");
    if (this.topKind === "symlink") {
      const link = this.symlinks[0];
      throw new PyroError("invalid_argument", `${this.options.top} is a symlink (to ${link?.target ?? "?"}); export the path it points to instead`);
    }
    const dropped: string[] = [];
    for (const { name, target } of this.symlinks) {
      const resolved = posix.normalize(posix.join(posix.dirname(name), target));
      const inside = resolved === this.options.top || resolved.startsWith(`${this.options.top}/`);
      if (posix.isAbsolute(target) || !inside) {
        dropped.push(name);
        continue;
      }
      try {
        symlinkSync(target, join(this.options.root, name));
      } catch (error) {
        throw this.ioError(name, error);
      }
    }
    // Deepest first, so a read-only parent does not stop its children's chmod.
    for (const [name, meta] of [...this.dirs].reverse()) {
      const path = join(this.options.root, name);
      await chmod(path, (meta.mode & 0o777) | 0o700);
      if (meta.mtime) await utimes(path, meta.mtime, meta.mtime);
    }
    return { entries: this.entries, bytes: this.bytes, kind: this.topKind, droppedSymlinks: dropped };
  }

  private entry(entry: ReadEntry): void {
    if (this.failure) {
      entry.resume();
      return;
    }
    this.entries += 1;
    if (this.entries > (this.options.maxEntries ?? MAX_ARCHIVE_ENTRIES)) {
      throw new PyroError("limit_exceeded", `the exported tree has more than ${this.options.maxEntries ?? MAX_ARCHIVE_ENTRIES} entries`);
    }
    const name = this.checkName(entry.path);
    const isTop = name === this.options.top;
    switch (entry.type) {
      case "Directory":
        if (isTop) this.topKind = "directory";
        this.makeDirs(name, entry.mode ?? 0o755, entry.mtime);
        entry.resume();
        return;
      case "File":
      case "OldFile":
        if (isTop) this.topKind = "file";
        this.writeFile(name, entry);
        return;
      case "SymbolicLink":
        if (isTop) this.topKind = "symlink";
        if ((entry.linkpath ?? "").length > MAX_ARCHIVE_PATH || (entry.linkpath ?? "").includes("\0")) {
          throw new PyroError("guest_failure", `the guest sent an invalid symlink target for ${name}`);
        }
        this.symlinks.push({ name, target: entry.linkpath ?? "" });
        entry.resume();
        return;
      default:
        throw new PyroError("guest_failure", `the guest sent an entry of type ${entry.type} (${name}); only files, directories and symlinks are exported`);
    }
  }

  private checkName(raw: string): string {
    if (raw.length > MAX_ARCHIVE_PATH || raw.includes("\0")) throw new PyroError("guest_failure", "the guest sent an entry name that is too long or has a NUL byte");
    const name = raw.replace(/\/+$/, "");
    const parts = name.split("/");
    if (posix.isAbsolute(raw) || parts.some((part) => part === ".." || part === "." || part === "")) {
      throw new PyroError("guest_failure", `the guest sent an unsafe entry name ${JSON.stringify(raw)}`);
    }
    if (parts[0] !== this.options.top) {
      throw new PyroError("guest_failure", `the guest sent ${JSON.stringify(raw)}, which is not under ${this.options.top}`);
    }
    if (this.topKind !== null && parts.length === 1) throw new PyroError("guest_failure", `the guest sent ${this.options.top} twice`);
    if (this.topKind === null && parts.length > 1) throw new PyroError("guest_failure", `the guest sent ${raw} before ${this.options.top}`);
    if (this.topKind === "file" || this.topKind === "symlink") throw new PyroError("guest_failure", `the guest sent ${raw} after the file ${this.options.top}`);
    return name;
  }

  /** Make `name` and its missing parents; each must be a directory this extraction made. */
  private makeDirs(name: string, mode: number, mtime?: Date): void {
    const parts = name.split("/");
    for (let i = 1; i <= parts.length; i += 1) {
      const dir = parts.slice(0, i).join("/");
      if (this.dirs.has(dir)) continue;
      try {
        mkdirSync(join(this.options.root, dir), { mode: 0o700 });
      } catch (error) {
        throw this.ioError(dir, error);
      }
      this.dirs.set(dir, { mode: 0o755 });
    }
    this.dirs.set(name, { mode, mtime });
  }

  private writeFile(name: string, entry: ReadEntry): void {
    if (entry.size < 0 || entry.size > this.options.maxBytes - this.bytes) {
      throw new PyroError("limit_exceeded", `the exported tree is larger than the limit of ${this.options.maxBytes} bytes`);
    }
    this.bytes += entry.size;
    const parent = posix.dirname(name);
    if (parent !== "." && !this.dirs.has(parent)) this.makeDirs(parent, 0o755);
    const path = join(this.options.root, name);
    const mode = (entry.mode ?? 0o644) & 0o777;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    let fd: number;
    try {
      fd = openSync(path, flags, 0o600);
    } catch (error) {
      throw this.ioError(name, error);
    }
    const out = createWriteStream("", { fd });
    const mtime = entry.mtime;
    this.writes.push(
      new Promise<void>((resolve) => {
        out.on("error", (error) => {
          this.failure ??= this.ioError(name, error);
          entry.resume();
          resolve();
        });
        out.on("close", resolve);
        entry.pipe(out);
      }).then(async () => {
        if (this.failure) return;
        await chmod(path, mode);
        if (mtime) await utimes(path, mtime, mtime);
      }),
    );
  }

  private ioError(name: string, error: unknown): PyroError {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return new PyroError("guest_failure", `the guest sent ${name} twice`);
    return new PyroError("io_error", `cannot write ${name} on the host: ${(error as Error).message}`, { cause: error });
  }
}
