import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { TimeSlicer } from "./time-slicer.js";

/** Read size of {@link sha256File}. */
export const SHA256_READ_BYTES = 1 << 20;

/** What {@link sha256File} may share with its caller. */
export interface Sha256FileOptions {
  /** Read buffer to reuse across files (one digest at a time uses it). */
  buffer?: Buffer;
  /** Yields to the event loop between reads. */
  slicer?: TimeSlicer;
}

/**
 * Hex sha256 of a file's content, read with synchronous calls into one buffer
 * (a stream costs a threadpool round trip and a fresh buffer per piece, which
 * dominated digests of trees of small files), yielding between reads.
 */
export async function sha256File(path: string, options: Sha256FileOptions = {}): Promise<string> {
  const buffer = options.buffer ?? Buffer.allocUnsafe(SHA256_READ_BYTES);
  const slicer = options.slicer ?? new TimeSlicer();
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const bytes = readSync(fd, buffer, 0, buffer.length, null);
      if (bytes === 0) break;
      hash.update(buffer.subarray(0, bytes));
      await slicer.pause();
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}
