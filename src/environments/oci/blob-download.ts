import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";

/*
 * Received chunks are kept as they are (no copy) and written in batches with
 * one positional writev on the threadpool while the next batch arrives; a batch
 * is hashed on this thread right after its write succeeded, which keeps the
 * hashed bytes exactly the bytes on disk. Hashing on a worker thread instead
 * was measured slower on 2 cores: the copy into shared memory and the worker's
 * start-up cost more than the hashing they move away.
 */
const BATCH_BYTES = 2 * 1024 * 1024;
/** Batches waiting for their write before the body is paused. */
const MAX_BATCHES_IN_FLIGHT = 4;

/** How one response body is appended. */
export interface AppendOptions {
  /** The blob's declared size: a body running past it fails with `tooLarge()`. */
  size: number;
  /** A body that neither delivers bytes nor finishes a write for this long is aborted. */
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

  private hash = createHash("sha256");

  private constructor(private readonly handle: FileHandle) {}

  /** Create (or empty) `path`, mode 0600. */
  static async create(path: string): Promise<BlobFile> {
    return new BlobFile(await open(path, "w", 0o600));
  }

  /** Drop everything received (the server ignored `Range`). */
  async restart(): Promise<void> {
    await this.handle.truncate(0);
    this.hash = createHash("sha256");
    this.received = 0;
  }

  /**
   * Append `body` after the bytes received so far. Rejects with the body's
   * error, a write error, the idle timeout or `tooLarge()`; the file is then
   * cut back to {@link received}, ready for a resumed attempt.
   */
  async append(body: Readable, options: AppendOptions): Promise<void> {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let position = this.received;
    let seen = this.received;
    let inFlight = 0;
    let ended = false;
    let failure: unknown;
    let writes: Promise<void> = Promise.resolve();
    let settle = (): void => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const idle = setTimeout(() => stop(new Error(`no progress for ${options.idleMs} ms`)), options.idleMs);

    const check = (): void => {
      if (inFlight === 0 && (failure !== undefined || ended)) settle();
    };
    const stop = (error: unknown): void => {
      failure ??= error;
      body.destroy();
      check();
    };
    const dispatch = (): void => {
      const chunks = batch;
      const length = batchBytes;
      const at = position;
      position += length;
      batch = [];
      batchBytes = 0;
      inFlight++;
      writes = writes.then(async () => {
        await writeFully(this.handle, chunks, length, at);
        for (const chunk of chunks) this.hash.update(chunk);
        this.received += length;
        options.onProgress?.(this.received);
      });
      writes.catch(stop).finally(() => {
        inFlight--;
        idle.refresh();
        if (failure === undefined && !ended && inFlight < MAX_BATCHES_IN_FLIGHT) body.resume();
        check();
      });
    };

    body.on("data", (chunk: Buffer) => {
      if (failure !== undefined) return;
      idle.refresh();
      seen += chunk.length;
      if (seen > options.size) return stop(options.tooLarge());
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes < BATCH_BYTES) return;
      dispatch();
      if (inFlight >= MAX_BATCHES_IN_FLIGHT) body.pause();
    });
    body.once("end", () => {
      ended = true;
      if (batchBytes > 0) dispatch();
      check();
    });
    body.on("error", stop);
    body.once("close", () => {
      if (!ended) stop(new Error("connection closed before the end of the body"));
    });

    await settled;
    clearTimeout(idle);
    if (failure !== undefined) {
      // Bytes of a failed write may have reached the file without being hashed.
      await this.handle.truncate(this.received).catch(() => undefined);
      throw failure;
    }
  }

  /** `sha256:<hex>` of the bytes received; call once, at the end. */
  digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }

  /** Close the file. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Write `chunks` (`length` bytes) at `position`; a short writev is finished with plain writes. */
async function writeFully(handle: FileHandle, chunks: Buffer[], length: number, position: number): Promise<void> {
  let written = (await handle.writev(chunks, position)).bytesWritten;
  if (written === length) return;
  const all = Buffer.concat(chunks, length);
  while (written < length) {
    written += (await handle.write(all, written, length - written, position + written)).bytesWritten;
  }
}
