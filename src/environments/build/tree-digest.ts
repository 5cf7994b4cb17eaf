import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

/** Result of {@link treeDigest}. */
export interface TreeSummary {
  /** `sha256:` digest over every entry's path, type, mode, owner and content. */
  digest: string;
  /** Bytes the tree occupies on disk (allocated blocks, hard links counted once). */
  sizeBytes: number;
  /** Number of entries below the root. */
  fileCount: number;
}

function fileSha256(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash("sha256");
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolvePromise(hash.digest("hex")));
  });
}

/**
 * Digest of a root filesystem tree that is independent of how the tree was
 * produced (mmdebstrap here, or a tar extracted from an OCI layer elsewhere):
 * it covers paths, types, permission bits, numeric owners, file contents,
 * symlink targets and device numbers, and ignores timestamps and inode numbers.
 * Paths in `exclude` (relative, `/`-separated, e.g. `usr/local/sbin/pyro-agent`)
 * are skipped, so injected files do not change the digest.
 */
export async function treeDigest(root: string, exclude: ReadonlySet<string> = new Set()): Promise<TreeSummary> {
  const total = createHash("sha256");
  const seenInodes = new Map<string, string>();
  let sizeBytes = 0;
  let fileCount = 0;

  async function visit(rel: string): Promise<void> {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (exclude.has(childRel)) continue;
      const full = join(root, childRel);
      const info = await lstat(full, { bigint: true });
      const mode = (Number(info.mode) & 0o7777).toString(8);
      const owner = `${info.uid}:${info.gid}`;
      const inodeKey = `${info.dev}:${info.ino}`;
      const firstLink = !seenInodes.has(inodeKey);
      fileCount += 1;
      if (firstLink || info.isDirectory()) sizeBytes += Number(info.blocks) * 512;
      let line: string;
      if (info.isDirectory()) {
        line = `d ${mode} ${owner}`;
      } else if (info.isFile()) {
        let sum = seenInodes.get(inodeKey);
        if (sum === undefined) {
          sum = await fileSha256(full);
          seenInodes.set(inodeKey, sum);
        }
        line = `f ${mode} ${owner} ${info.size} ${sum}`;
      } else if (info.isSymbolicLink()) {
        line = `l ${mode} ${owner} ${JSON.stringify(await readlink(full))}`;
      } else if (info.isCharacterDevice() || info.isBlockDevice()) {
        line = `${info.isCharacterDevice() ? "c" : "b"} ${mode} ${owner} ${info.rdev}`;
      } else {
        line = `${info.isFIFO() ? "p" : "s"} ${mode} ${owner}`;
      }
      total.update(`${line} ${JSON.stringify(childRel)}\n`);
      if (info.isDirectory()) await visit(childRel);
    }
  }

  await visit("");
  return { digest: `sha256:${total.digest("hex")}`, sizeBytes, fileCount };
}
