import { Worker } from "node:worker_threads";

/*
 * The worker reads the file back with pread (from the page cache: the bytes
 * were just written) and hashes them, so the digest covers exactly the bytes on
 * disk and no data crosses between threads, only "written up to N" messages.
 * Its source is inlined (eval) rather than a file next to this module, so the
 * same code runs from dist/, from the bundled CLI and under vitest.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const { createHash } = require("node:crypto");
// 256 KiB reads stay in the core's cache between pread and hash.
const buffer = Buffer.allocUnsafe(256 * 1024);
let fd = -1;
let hash = createHash("sha256");
let done = 0;
let target = 0;
parentPort.on("message", (message) => {
  try {
    if (message.type === "open") fd = openSync(message.path, "r");
    if (message.type === "reset") {
      hash = createHash("sha256");
      done = 0;
      target = 0;
    }
    if (message.type === "advance" || message.type === "finish") target = Math.max(target, message.to);
    while (done < target) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, target - done), done);
      if (n === 0) break;
      hash.update(n === buffer.length ? buffer : buffer.subarray(0, n));
      done += n;
    }
    if (message.type === "finish") {
      closeSync(fd);
      parentPort.postMessage({ digest: "sha256:" + hash.digest("hex"), bytes: done });
    }
  } catch (error) {
    parentPort.postMessage({ error: { message: error.message, code: error.code } });
  }
});
// Up: the modules are loaded and OpenSSL's sha256 fetched (its first use is slow).
createHash("sha256").update(buffer.subarray(0, 4096)).digest();
parentPort.postMessage({ ready: true });
`;

interface WorkerReply {
  ready?: boolean;
  digest?: string;
  bytes?: number;
  error?: { message: string; code?: string };
}

/**
 * sha256 of a file that is being written, computed on a worker thread that
 * reads the file back as its written prefix grows. Start it early (its
 * start-up takes 20-30 ms) with {@link BlobHasher.start}; it serves one file.
 */
export class BlobHasher {
  /** The worker is up and waits for bytes. */
  ready = false;
  /** Settles when the worker runs, or failed to start or stopped. */
  readonly started: Promise<void>;
  private failure: Error | undefined;
  private reply: ((reply: WorkerReply) => void) | undefined;
  private inUse = false;

  private constructor(private readonly worker: Worker) {
    let up = (): void => undefined;
    this.started = new Promise((resolve) => {
      up = resolve;
      worker.once("exit", () => resolve());
    });
    worker.on("message", (reply: WorkerReply) => {
      if (reply.ready) {
        this.ready = true;
        // Up and still spare: a forgotten one must not keep the process alive (one in use does, see open()).
        if (!this.inUse) worker.unref();
        return up();
      }
      if (reply.error) this.failure ??= Object.assign(new Error(`hashing the download failed: ${reply.error.message}`), { code: reply.error.code });
      this.reply?.(reply);
    });
    worker.on("error", (error) => {
      this.failure ??= error;
      this.reply?.({ error: { message: error.message } });
    });
  }

  /** Spawn the worker now; messages sent before it is up are queued. */
  static start(): BlobHasher {
    return new BlobHasher(new Worker(WORKER_SOURCE, { eval: true }));
  }

  /** Hash `path` (already created); call once, before the first {@link advance}. */
  open(path: string): void {
    // While a download waits for the digest, the worker may be all that keeps the event loop alive.
    this.inUse = true;
    this.worker.ref();
    this.worker.postMessage({ type: "open", path });
  }

  /** The file now holds `bytes` bytes that will not change: hash up to there. */
  advance(bytes: number): void {
    this.worker.postMessage({ type: "advance", to: bytes });
  }

  /** The file was emptied: start over from byte 0. */
  reset(): void {
    this.worker.postMessage({ type: "reset" });
  }

  /** `sha256:<hex>` of the file's first `size` bytes (fewer hashed bytes when the file is shorter). */
  finish(size: number): Promise<{ digest: string; bytes: number }> {
    return new Promise((resolve, reject) => {
      this.reply = (reply) => {
        if (this.failure) reject(this.failure);
        else if (reply.digest !== undefined) resolve({ digest: reply.digest, bytes: reply.bytes ?? 0 });
      };
      if (this.failure) reject(this.failure);
      this.worker.postMessage({ type: "finish", to: size });
    });
  }

  /** Stop the worker (without waiting for it). */
  close(): void {
    void this.worker.terminate().catch(() => undefined);
  }
}
