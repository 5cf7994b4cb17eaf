import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Parser, type ReadEntry } from "tar";
import { PyroError } from "../../util/errors.js";

/**
 * A Writable that parses a plain tar stream and hands each entry to `onEntry`
 * (which must consume or `resume()` it). Strict: a malformed header fails the
 * stream. It finishes only after the last entry was consumed.
 */
export function tarReader(onEntry: (entry: ReadEntry) => void): Writable {
  const parser = new Parser({ strict: true });
  let failure: Error | null = null;
  const writable = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (failure) return callback(failure);
      if (parser.write(chunk)) callback();
      else parser.once("drain", () => callback(failure));
    },
    final(callback) {
      if (failure) return callback(failure);
      parser.once("end", () => callback(failure));
      parser.end();
    },
  });
  parser.on("entry", (entry: ReadEntry) => {
    try {
      onEntry(entry);
    } catch (error) {
      entry.resume();
      fail(error as Error);
    }
  });
  parser.on("error", (error: Error) => fail(new PyroError("guest_failure", `malformed archive from the guest: ${error.message}`, { cause: error })));
  function fail(error: Error): void {
    if (failure) return;
    failure = error;
    writable.destroy(error);
  }
  return writable;
}

/** Parse a whole tar stream, entry by entry; resolves once every entry was handled. */
export async function readTar(source: NodeJS.ReadableStream, onEntry: (entry: ReadEntry) => void): Promise<void> {
  await pipeline(source, tarReader(onEntry));
}
