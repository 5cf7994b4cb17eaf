import { open, stat } from "node:fs/promises";
import { runTool } from "../exec.js";

const MIB = 1024 * 1024;
const BLOCK = 4096;

/**
 * Size of the ext4 image for a tree occupying `contentBytes`: 20 % slack for
 * filesystem metadata and small-file rounding, plus 128 MiB of free room for
 * the guest, rounded up to whole MiB.
 */
export function imageSizeFor(contentBytes: number): number {
  const raw = contentBytes * 1.2 + 128 * MIB;
  return Math.ceil(raw / MIB) * MIB;
}

/**
 * Make a raw ext4 image at `imagePath` holding `rootfsDir` (owners, modes,
 * devices and hard links kept) without mounting anything: `mkfs.ext4 -d`.
 * Returns the image's apparent size and the bytes it really occupies (sparse).
 */
export async function buildExt4Image(
  rootfsDir: string,
  imagePath: string,
  contentBytes: number,
  options: { inodes?: number } = {},
): Promise<{ sizeBytes: number; diskBytes: number }> {
  const sizeBytes = imageSizeFor(contentBytes);
  const handle = await open(imagePath, "wx", 0o644);
  try {
    await handle.truncate(sizeBytes);
  } finally {
    await handle.close();
  }
  await runTool("mkfs.ext4", ["-F", "-q", "-b", String(BLOCK), "-E", "root_owner=0:0", "-L", "pyro-root", ...(options.inodes ? ["-N", String(options.inodes)] : []), "-d", rootfsDir, imagePath], {
    missingHint: "install e2fsprogs (`apt-get install e2fsprogs`, version ≥ 1.43 for `mkfs.ext4 -d`)",
  });
  const info = await stat(imagePath);
  return { sizeBytes: info.size, diskBytes: info.blocks * 512 };
}
