import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  createReadStream,
  fchmodSync,
  fchownSync,
  futimesSync,
  linkSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  chmodSync,
  chownSync,
  symlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { PyroError } from "../../util/errors.js";
import { TarFormatError, TarStream, type TarHeader, type TarSink } from "./tar-stream.js";

/** Caps on what the layers of one image may unpack to. */
export interface UnpackLimits {
  /** Total bytes of regular files over all layers. */
  maxBytes: number;
  /** Total members over all layers (files, links, directories, whiteouts). */
  maxFiles: number;
}

/** Default caps: far above real toolchain images (python:3.12 ≈ 1 GiB, 40 k files), far below what fills a disk. */
export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxBytes: 8 * 1024 ** 3, maxFiles: 500_000 };

/** What unpacking counted, over all layers so far. */
export interface UnpackCounts {
  bytes: number;
  files: number;
  /** Extended attributes found (applied with `setfattr` when installed). */
  xattrs: Array<{ path: string; name: string; value: Buffer; ino: number }>;
  /** Device nodes and FIFOs that could not be made (not root). */
  skippedNodes: number;
}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
const SYMLINK_BUDGET = 40;

function hostile(layer: string, why: string, path: string): PyroError {
  return new PyroError("invalid_argument", `image layer ${layer} is refused: ${why} (${JSON.stringify(path.slice(0, 200))})`, {
    hint: "the image contains a crafted or broken layer; nothing was installed. Use an image built by a standard tool (docker, buildah, kaniko)",
    details: { layer, path: path.slice(0, 1000), reason: why },
  });
}

function limitError(what: "bytes" | "files", limit: number, layer: string): PyroError {
  return new PyroError("limit_exceeded", `the image unpacks to more than ${what === "bytes" ? `${Math.round(limit / 1024 ** 2)} MiB` : `${limit} files`} (layer ${layer})`, {
    hint: "pyro caps what an image may unpack to; use a smaller image (a -slim variant, fewer layers of build leftovers). Nothing was installed",
    details: { limit: what === "bytes" ? "max_unpacked_bytes" : "max_files", value: limit, layer },
  });
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * Applies layers, one after another, onto `root` with OCI semantics. Every
 * path is resolved inside `root`: symlinks met on the way are followed as the
 * guest would see them, with `/` and `..` clamped at `root`, so no member can
 * write outside it; the final component is never followed (it is replaced).
 */
export class LayerUnpacker {
  readonly counts: UnpackCounts = { bytes: 0, files: 0, xattrs: [], skippedNodes: 0 };
  private readonly asRoot = process.getuid?.() === 0;
  /** Paths (relative, resolved) made by the layer being applied: an opaque whiteout spares them. */
  private created = new Set<string>();
  private layer = "";

  constructor(
    readonly root: string,
    private readonly limits: UnpackLimits = DEFAULT_UNPACK_LIMITS,
  ) {}

  /** Apply the verified blob at `blobPath` (`compression` from its media type); resolves when its tar ended. */
  async apply(blobPath: string, compression: "none" | "gzip" | "zstd", layer: string): Promise<void> {
    this.layer = layer;
    this.created = new Set();
    const file = createReadStream(blobPath, { highWaterMark: 1 << 20 });
    let source: Readable = file;
    let child: ReturnType<typeof spawn> | null = null;
    if (compression === "gzip") {
      source = file.pipe(createGunzip({ chunkSize: 1 << 20 }));
    } else if (compression === "zstd") {
      file.destroy();
      child = spawn("zstd", ["-dc", "--no-progress", blobPath], { stdio: ["ignore", "pipe", "ignore"] });
      source = child.stdout as Readable;
    }
    // The tar stream stops at its end marker; everything after it (a bomb's padding) is never decompressed.
    const decompressedCap = this.limits.maxBytes + this.limits.maxFiles * 1536 + (1 << 20);
    let decompressed = 0;
    await new Promise<void>((resolvePromise, reject) => {
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        source.unpipe();
        file.destroy();
        source.destroy();
        if (child && child.exitCode === null) child.kill("SIGKILL");
        if (error) reject(this.wrap(error));
        else resolvePromise();
      };
      const tar = new TarStream((header) => this.entry(header), () => finish());
      tar.on("error", finish);
      file.on("error", finish);
      source.on("error", finish);
      child?.on("error", (error) =>
        finish(new PyroError("unavailable", "this image has zstd layers and the zstd program is missing", { hint: "install zstd (`apt-get install zstd`)", cause: error })),
      );
      child?.on("close", (code) => {
        if (code !== 0 && code !== null && !tar.finished) finish(new PyroError("invalid_argument", `zstd could not decompress layer ${layer} (exit ${code})`, { hint: "the layer is not valid zstd; nothing was installed" }));
      });
      source.on("data", (chunk: Buffer) => {
        decompressed += chunk.length;
        if (decompressed > decompressedCap) finish(limitError("bytes", this.limits.maxBytes, layer));
      });
      source.pipe(tar);
      tar.on("finish", () => finish());
    });
  }

  private wrap(error: unknown): unknown {
    if (error instanceof PyroError) return error;
    if (error instanceof TarFormatError) {
      return new PyroError("invalid_argument", `image layer ${this.layer} is not a valid tar archive: ${error.message}`, { hint: "nothing was installed; the image is broken" });
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "Z_DATA_ERROR" || code === "Z_BUF_ERROR") {
      return new PyroError("invalid_argument", `image layer ${this.layer} is not valid gzip: ${(error as Error).message}`, { hint: "nothing was installed; the image is broken" });
    }
    return error;
  }

  /** The member's path as components; `..` is refused, a leading `/` or `./` dropped. */
  private components(raw: string): string[] {
    const parts = raw.split("/").filter((part) => part !== "" && part !== ".");
    if (parts.includes("..")) throw hostile(this.layer, "a path climbs out with ..", raw);
    return parts;
  }

  /**
   * The directory (relative to root, resolved) that holds `parts`' last
   * component, made when missing unless `create` is false (then null).
   */
  private parentOf(parts: string[], create: boolean): string | null {
    let current: string[] = [];
    const queue = parts.slice(0, -1);
    let budget = SYMLINK_BUDGET;
    while (queue.length > 0) {
      const part = queue.shift() as string;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        current.pop();
        continue;
      }
      const next = [...current, part];
      const full = join(this.root, ...next);
      const info = lstatOrNull(full);
      if (info?.isSymbolicLink()) {
        if (--budget < 0) throw hostile(this.layer, "too many symlinks on the way", parts.join("/"));
        const target = readlinkSync(full);
        if (target.startsWith("/")) current = [];
        queue.unshift(...target.split("/"));
        continue;
      }
      if (!info || !info.isDirectory()) {
        if (!create) return null;
        if (info) rmSync(full, { force: true });
        mkdirSync(full, { mode: 0o755 });
        this.created.add(next.join("/"));
      }
      current = next;
    }
    return current.join("/");
  }

  private count(header: TarHeader): void {
    this.counts.files += 1;
    if (this.counts.files > this.limits.maxFiles) throw limitError("files", this.limits.maxFiles, this.layer);
    this.counts.bytes += header.size;
    if (this.counts.bytes > this.limits.maxBytes) throw limitError("bytes", this.limits.maxBytes, this.layer);
  }

  private entry(header: TarHeader): TarSink {
    this.count(header);
    const none: TarSink = { data: () => undefined, end: () => undefined };
    const parts = this.components(header.path);
    if (parts.length === 0) return none; // the root itself: its metadata stays pyro's
    const name = parts[parts.length - 1] as string;
    if (name.startsWith(WHITEOUT)) {
      const dir = this.parentOf(parts, false);
      if (dir === null) return none;
      if (name === OPAQUE) this.opaque(dir);
      else this.remove(join(this.root, dir, name.slice(WHITEOUT.length)));
      return none;
    }
    const dir = this.parentOf(parts, true) as string;
    const rel = dir ? `${dir}/${name}` : name;
    const target = join(this.root, rel);
    const existing = lstatOrNull(target);
    this.created.add(rel);
    if (header.type === "dir") {
      if (!existing?.isDirectory()) {
        if (existing) this.remove(target);
        mkdirSync(target, { mode: 0o700 });
      }
      this.own(target, header, false);
      chmodSync(target, header.mode);
      this.xattrs(rel, header);
      return none;
    }
    if (existing) this.remove(target);
    switch (header.type) {
      case "file":
        return this.file(target, rel, header);
      case "symlink":
        symlinkSync(header.linkpath, target);
        this.own(target, header, true);
        lutimesSync(target, header.mtime, header.mtime);
        return none;
      case "link":
        this.hardLink(target, header);
        return none;
      default:
        this.node(target, header);
        this.xattrs(rel, header);
        return none;
    }
  }

  private file(target: string, rel: string, header: TarHeader): TarSink {
    const fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    let written = 0;
    return {
      data: (chunk) => {
        written += chunk.length;
        writeSync(fd, chunk);
      },
      end: () => {
        try {
          if (written !== header.size) throw hostile(this.layer, "a file's data is shorter than its header says", header.path);
          if (this.asRoot) fchownSync(fd, header.uid, header.gid);
          // After the chown, which clears set-id bits.
          fchmodSync(fd, header.mode);
          futimesSync(fd, header.mtime, header.mtime);
        } finally {
          closeSync(fd);
        }
        this.xattrs(rel, header);
      },
    };
  }

  private hardLink(target: string, header: TarHeader): void {
    const parts = this.components(header.linkpath);
    if (parts.length === 0) throw hostile(this.layer, "a hard link to the root", header.linkpath);
    const dir = this.parentOf(parts, false);
    const source = dir === null ? null : join(this.root, dir, parts[parts.length - 1] as string);
    const info = source ? lstatOrNull(source) : null;
    if (!source || !info || info.isDirectory()) {
      throw hostile(this.layer, `a hard link to ${info?.isDirectory() ? "a directory" : "nothing in the image"}`, `${header.path} -> ${header.linkpath}`);
    }
    linkSync(source, target);
  }

  private node(target: string, header: TarHeader): void {
    if (!this.asRoot) {
      this.counts.skippedNodes += 1;
      return;
    }
    const kind = header.type === "char" ? ["c", String(header.devmajor), String(header.devminor)] : header.type === "block" ? ["b", String(header.devmajor), String(header.devminor)] : ["p"];
    const made = spawnSync("mknod", ["-m", (header.mode & 0o7777).toString(8), target, ...kind], { encoding: "utf8" });
    if (made.status !== 0) throw new PyroError("unavailable", `could not make device node ${header.path}: ${(made.stderr || made.error?.message || "").trim()}`, { hint: "install coreutils (mknod)" });
    this.own(target, header, false);
    chmodSync(target, header.mode);
  }

  private own(target: string, header: TarHeader, link: boolean): void {
    if (!this.asRoot) return;
    if (link) lchownSync(target, header.uid, header.gid);
    else chownSync(target, header.uid, header.gid);
  }

  private xattrs(rel: string, header: TarHeader): void {
    if (header.xattrs.size === 0) return;
    // The inode written now: xattrs are applied after the last layer, and only where this path still leads to it.
    const ino = lstatSync(join(this.root, rel)).ino;
    for (const [name, value] of header.xattrs) this.counts.xattrs.push({ path: rel, name, value, ino });
  }

  private remove(path: string): void {
    rmSync(path, { recursive: true, force: true });
  }

  /** An opaque whiteout: what lower layers put in `dir` goes; what this layer put there stays. */
  private opaque(dir: string): void {
    const full = join(this.root, dir);
    for (const name of readdirSync(full)) {
      const rel = dir ? `${dir}/${name}` : name;
      if (!this.created.has(rel)) this.remove(join(full, name));
    }
  }
}
