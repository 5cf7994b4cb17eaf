import { open } from "node:fs/promises";

/**
 * The end of a log file for an error message: at most `lines` lines from its
 * last `maxBytes`, control characters other than newline and tab removed (a
 * guest console is hostile output); "" when the file cannot be read.
 */
export async function logTail(path: string, options: { lines?: number; maxBytes?: number } = {}): Promise<string> {
  const lines = options.lines ?? 40;
  const maxBytes = options.maxBytes ?? 16_384;
  try {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - maxBytes);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const text = buffer
        .toString("utf8")
        .replace(/\r\n?/g, "\n")
        // eslint-disable-next-line no-control-regex
        .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
      const all = text.split("\n");
      if (start > 0) all.shift(); // a partial first line
      while (all.length > 0 && all[all.length - 1] === "") all.pop();
      return all.slice(-lines).join("\n");
    } finally {
      await handle.close();
    }
  } catch {
    return "";
  }
}
