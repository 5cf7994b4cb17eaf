import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { PyroError } from "../../util/errors.js";

const run = promisify(execFile);

/** How a machine's writable root disk is made from the environment's raw ext4 image. */
export type RootDiskMode = "overlay" | "raw";

/**
 * Make the machine's root disk at `target` unless it exists already (a stopped
 * machine keeps its disk; {@link QemuBackend.cleanup} removes it).
 * - `overlay`: a qcow2 file with the environment image as read-only raw
 *   backing file; instant, but only QEMU can read it.
 * - `raw`: a private raw ext4 copy (`cp --reflink=auto --sparse=always`), which
 *   debugfs can read while the machine is stopped.
 * Built under a temporary name and renamed, so a crash never leaves half a disk.
 */
export async function ensureRootDisk(mode: RootDiskMode, source: string, target: string, qemuImg: string | undefined): Promise<void> {
  if (existsSync(target)) return;
  if (!existsSync(source)) {
    throw new PyroError("not_found", `the environment's root image ${source} is missing`, {
      hint: "re-pull the environment (pyro env pull ENV)",
      details: { root_image: source },
    });
  }
  const temp = `${target}.tmp-${process.pid}`;
  try {
    if (mode === "raw") {
      await run("cp", ["--reflink=auto", "--sparse=always", "--", source, temp]);
    } else {
      if (!qemuImg) {
        throw new PyroError("unavailable", "qemu-img is not installed", { hint: "install qemu-utils (Debian: apt-get install qemu-utils)" });
      }
      await run(qemuImg, ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", source, temp]);
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof PyroError) throw error;
    const e = error as Error & { stderr?: string };
    throw new PyroError("io_error", `cannot create the root disk ${target}: ${(e.stderr || e.message).trim()}`, {
      hint: "check free space and permissions in the state directory",
      details: { source, target, mode },
      cause: error,
    });
  }
}
