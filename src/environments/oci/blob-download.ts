import { createHash } from "node:crypto";
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import type { BlobBody } from "./blob-body.js";

/*
 * Each received piece is written at once with a synchronous positional write,
 * straight from the socket's reused read buffer (no copy, no allocation, no
 * batches to track: a write of up to 1 MiB into the page cache takes well under
 * a millisecond, and curl writes the same way), then hashed while it is still
 * in the CPU's cache, so the hash covers exactly the bytes on disk. Measured on
 * 2 cores against a loopback registry (docs/environments.md, Measurements): a
 * worker thread hashing the written prefix back in parallel gained 2-4 % in a
 * fresh process (as `pyro env pull` runs) and lost up to 10 % when other work
 * loaded the cores, at the price of a thread that must be started 30-70 ms
 * ahead; batched writes on the threadpool with the hash here were slower (the
 * copies out of the reused read buffer).
 */

/** Report progress at most this often. */
const PROGRESS_BYTES = 1024 * 1024;

/** How one response body is appended. */
export interface AppendOptions {
  /** The blob's declared size: a body running past it fails with `tooLarge()`. */
  size: number;
  /** A body that delivers no bytes for this long is aborted. */
  idleMs: number;
  tooLarge: () => Error;
  onProgress?: (received: number) => void;
}

/** The running digest a {@link BlobFile} keeps: node:crypto's `Hash`, or a stand-in that measures the transfer alone. */
export interface BlobHash {
  update(data: Buffer): unknown;
  digest(encoding: "hex"): string;
}

/**
 * The file a blob downloads into, with the running sha256 of its content.
 * Between appends the file holds exactly the first {@link received} bytes of
 * the blob and the hash covers exactly those, so a dropped connection resumes
 * with `Range: bytes=<received>-`.
 */
export class BlobFile {
  /** Bytes written and hashed. */
  received = 0;
  private reported = 0;
  private hash: BlobHash;

  private constructor(
    private readonly fd: number,
    private readonly newHash: () => BlobHash,
  ) {
    this.hash = newHash();
  }

  /**
   * Create (or empty) `path`, mode 0600. `newHash` is for benchmarks that time
   * the transfer without the sha256 (bench/pull-download.ts); downloads keep the default.
   */
  static create(path: string, newHash: () => BlobHash = () => createHash("sha256")): BlobFile {
    return new BlobFile(openSync(path, "w", 0o600), newHash);
  }

  /** Drop everything received (the server ignored `Range`). */
  restart(): void {
    ftruncateSync(this.fd, 0);
    this.hash = this.newHash();
    this.received = 0;
    this.reported = 0;
  }

  /**
   * Append `body` after the bytes received so far. Rejects with the body's
   * error, a write error, the idle timeout or `tooLarge()`; the file is then
   * cut back to {@link received}, ready for a resumed attempt.
   */
  append(body: BlobBody, options: AppendOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        this.report(options.onProgress);
        if (error === undefined) return resolve();
        body.destroy();
        try {
          // A failed write may have left bytes past `received`.
          ftruncateSync(this.fd, this.received);
        } catch {
          // Not a regular file (a test's /dev/full): nothing to cut.
        }
        reject(error);
      };
      const idle = setTimeout(() => settle(new Error(`no progress for ${options.idleMs} ms`)), options.idleMs);
      body.start({
        data: (chunk) => {
          if (settled) return;
          idle.refresh();
          if (this.received + chunk.length > options.size) return settle(options.tooLarge());
          try {
            writeFully(this.fd, chunk, this.received);
          } catch (error) {
            return settle(error);
          }
          this.hash.update(chunk);
          this.received += chunk.length;
          if (this.received - this.reported >= PROGRESS_BYTES) this.report(options.onProgress);
        },
        end: () => settle(),
        error: (error) => settle(error),
      });
    });
  }

  private report(onProgress: ((received: number) => void) | undefined): void {
    if (this.received === this.reported) return;
    this.reported = this.received;
    onProgress?.(this.received);
  }

  /** `sha256:<hex>` of the bytes received; call once, at the end. */
  digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }

  /** Close the file. */
  close(): void {
    closeSync(this.fd);
  }
}

/** Write all of `chunk` at `position`. */
function writeFully(fd: number, chunk: Buffer, position: number): void {
  let written = 0;
  while (written < chunk.length) written += writeSync(fd, chunk, written, chunk.length - written, position + written);
}
