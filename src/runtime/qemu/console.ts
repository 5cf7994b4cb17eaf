import { open } from "node:fs/promises";

/** How much of the console tail goes into an error. */
export const CONSOLE_TAIL_LINES = 40;

/**
 * The last `lines` lines of a log file (read from its last 16 KiB), control
 * characters other than newline and tab removed; "" when it cannot be read.
 */
export async function logTail(path: string, lines = CONSOLE_TAIL_LINES, maxBytes = 16_384): Promise<string> {
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
