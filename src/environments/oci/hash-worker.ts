import { createHash, type Hash } from "node:crypto";
import { Worker } from "node:worker_threads";

/*
 * The worker's source is inlined (eval) rather than a file next to this module:
 * vitest runs this module as TypeScript, the bench from a temporary outDir and
 * the package from dist/, and a string works the same in all three. Every
 * message gets exactly one reply, in order.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const ring = new Uint8Array(workerData);
let hash = createHash("sha256");
parentPort.on("message", (message) => {
  if (message === "digest") {
    parentPort.postMessage(hash.digest("hex"));
    hash = createHash("sha256");
  } else if (message === "reset") {
    hash = createHash("sha256");
    parentPort.postMessage(null);
  } else {
    hash.update(ring.subarray(message[0], message[0] + message[1]));
    parentPort.postMessage(null);
  }
});
`;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * SHA-256 over slices of a shared ring buffer, computed on a worker thread so
 * that hashing overlaps receiving and writing. Slices are hashed in the order
 * {@link update} is called. Falls back to hashing inline when no worker can be
 * started. Call {@link close} when done: a live worker keeps the process up.
 */
export class RingHasher {
  private readonly pending: Pending[] = [];
  private failure: unknown;
  private inline: Hash | undefined;
  private readonly worker: Worker | undefined;

  constructor(private readonly ring: SharedArrayBuffer) {
    try {
      this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: ring });
    } catch {
      this.inline = createHash("sha256");
      return;
    }
    this.worker.on("message", (value: unknown) => this.pending.shift()?.resolve(value));
    const fail = (error: unknown): void => {
      this.failure ??= error;
      for (const waiter of this.pending.splice(0)) waiter.reject(error);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`hash worker exited (${code})`)));
  }

  private send(message: unknown): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.worker?.postMessage(message);
    });
  }

  /** Hash `length` bytes of the ring at `offset`; resolves once the slice may be reused. */
  async update(offset: number, length: number): Promise<void> {
    if (this.inline) {
      this.inline.update(new Uint8Array(this.ring, offset, length));
      return;
    }
    await this.send([offset, length]);
  }

  /** Start over with an empty hash. */
  async reset(): Promise<void> {
    if (this.inline) {
      this.inline = createHash("sha256");
      return;
    }
    await this.send("reset");
  }

  /** `sha256:<hex>` of everything hashed since the start or the last reset. */
  async digest(): Promise<string> {
    if (this.inline) {
      const hex = this.inline.digest("hex");
      this.inline = createHash("sha256");
      return `sha256:${hex}`;
    }
    return `sha256:${String(await this.send("digest"))}`;
  }

  /** Stop the worker. */
  async close(): Promise<void> {
    this.worker?.removeAllListeners("exit");
    await this.worker?.terminate();
  }
}
