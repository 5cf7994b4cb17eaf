import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Bytes `path` occupies on disk (allocated blocks, each hard-linked inode
 * counted once, symlinks not followed); 0 when it does not exist.
 */
export async function diskUsage(path: string): Promise<number> {
  const seen = new Set<string>();
  async function walk(current: string): Promise<number> {
    let info;
    try {
      info = await lstat(current, { bigint: true });
    } catch {
      return 0;
    }
    const key = `${info.dev}:${info.ino}`;
    let total = 0;
    if (!seen.has(key)) {
      seen.add(key);
      total += Number(info.blocks) * 512;
    }
    if (info.isDirectory()) {
      let names: string[] = [];
      try {
        names = await readdir(current);
      } catch {
        return total;
      }
      for (const name of names) total += await walk(join(current, name));
    }
    return total;
  }
  return walk(path);
}
