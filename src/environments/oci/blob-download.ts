import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { RingHasher } from "./hash-worker.js";

/*
 * Received bytes are copied into slots of one shared ring; each full slot is
 * written at its offset (threadpool) and then hashed (worker thread), so
 * receiving, writing and hashing run at the same time on different cores
 * without allocating a buffer per batch. A slot is hashed only after its write
 * succeeded, which keeps the hashed bytes a prefix of the bytes on disk.
 */
const SLOT_BYTES = 2 * 1024 * 1024;
const SLOTS = 8;

/** How one response body is appended. */
export interface AppendOptions {
  /** The blob's declared size: a body running past it fails with `tooLarge()`. */
  size: number;
  /** A body that neither delivers bytes nor lets a slot finish for this long is aborted. */
  idleMs: number;
  tooLarge: () => Error;
  onProgress?: (received: number) => void;
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

  private constructor(
    private readonly handle: FileHandle,
    private readonly ring: SharedArrayBuffer,
    private readonly hasher: RingHasher,
  ) {}

  /** Create (or empty) `path`, mode 0600, and start its hasher. */
  static async create(path: string): Promise<BlobFile> {
    const handle = await open(path, "w", 0o600);
    const ring = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
    return new BlobFile(handle, ring, new RingHasher(ring));
  }

  /** Drop everything received (the server ignored `Range`). */
  async restart(): Promise<void> {
    await this.hasher.reset();
    await this.handle.truncate(0);
    this.received = 0;
  }

  /**
   * Append `body` after the bytes received so far. Rejects with the body's
   * error, a write error, the idle timeout or `tooLarge()`; the file is then
   * cut back to {@link received}, ready for a resumed attempt.
   */
  async append(body: Readable, options: AppendOptions): Promise<void> {
    const ring = new Uint8Array(this.ring);
    const free = Array.from({ length: SLOTS }, (_, index) => index);
    let slot = free.shift();
    let fill = 0;
    let dispatched = this.received;
    let seen = this.received;
    let inFlight = 0;
    let remainder: Uint8Array | undefined;
    let ended = false;
    let failure: unknown;
    let writes: Promise<unknown> = Promise.resolve();
    let settle = (): void => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const idle = setTimeout(() => stop(new Error(`no progress for ${options.idleMs} ms`)), options.idleMs);

    const check = (): void => {
      if (inFlight === 0 && (failure !== undefined || (ended && remainder === undefined && fill === 0))) settle();
    };
    const stop = (error: unknown): void => {
      failure ??= error;
      body.destroy();
      check();
    };
    const dispatch = (): void => {
      const index = slot as number;
      const length = fill;
      const position = dispatched;
      dispatched += length;
      fill = 0;
      slot = free.shift();
      inFlight++;
      const view = ring.subarray(index * SLOT_BYTES, index * SLOT_BYTES + length);
      writes = writes.then(() => this.handle.write(view, 0, length, position));
      writes
        .then(() => this.hasher.update(index * SLOT_BYTES, length))
        .then(() => {
          this.received += length;
          options.onProgress?.(this.received);
        })
        .catch(stop)
        .finally(() => {
          inFlight--;
          release(index);
        });
    };
    const take = (chunk: Uint8Array): void => {
      let offset = 0;
      while (offset < chunk.length) {
        if (slot === undefined) {
          remainder = chunk.subarray(offset);
          body.pause();
          return;
        }
        const length = Math.min(chunk.length - offset, SLOT_BYTES - fill);
        ring.set(chunk.subarray(offset, offset + length), slot * SLOT_BYTES + fill);
        fill += length;
        offset += length;
        if (fill === SLOT_BYTES) dispatch();
      }
    };
    const flushEnd = (): void => {
      if (fill > 0) dispatch();
    };
    const release = (index: number): void => {
      free.push(index);
      slot ??= free.shift();
      idle.refresh();
      if (failure === undefined) {
        if (remainder) {
          const rest = remainder;
          remainder = undefined;
          take(rest);
        }
        if (!remainder) {
          if (ended) flushEnd();
          else body.resume();
        }
      }
      check();
    };

    body.on("data", (chunk: Buffer) => {
      if (failure !== undefined) return;
      idle.refresh();
      seen += chunk.length;
      if (seen > options.size) return stop(options.tooLarge());
      take(chunk);
    });
    body.once("end", () => {
      ended = true;
      if (!remainder) flushEnd();
      check();
    });
    body.on("error", stop);
    body.once("close", () => {
      if (!ended) stop(new Error("connection closed before the end of the body"));
    });

    await settled;
    clearTimeout(idle);
    if (failure !== undefined) {
      // Bytes written but not hashed (a failed write, or one after it) are cut off.
      await this.handle.truncate(this.received).catch(() => undefined);
      throw failure;
    }
  }

  /** `sha256:<hex>` of the bytes received. */
  digest(): Promise<string> {
    return this.hasher.digest();
  }

  /** Stop the hasher and close the file. */
  async close(): Promise<void> {
    await this.hasher.close();
    await this.handle.close();
  }
}
