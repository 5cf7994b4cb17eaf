import { chown, copyFile, link, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { PyroError } from "../../util/errors.js";
import { JAIL_FILES } from "./constants.js";
import { jailerId, type VmLayout } from "./layout.js";

/** Inputs of {@link jailerArgs}. */
export interface JailerCommand {
  id: string;
  firecrackerBin: string;
  uid: number;
  gid: number;
  chrootBase: string;
  /** Firecracker's own arguments, passed after `--`. */
  firecrackerArgs: string[];
}

/**
 * The jailer command line: the jailer sets up `<chrootBase>/<basename of
 * exec-file>/<id>/root`, drops to uid/gid in a cgroup v2, then execs
 * Firecracker (same pid) inside the chroot.
 */
export function jailerArgs(cmd: JailerCommand): string[] {
  return [
    "--id",
    jailerId(cmd.id),
    "--exec-file",
    cmd.firecrackerBin,
    "--uid",
    String(cmd.uid),
    "--gid",
    String(cmd.gid),
    "--chroot-base-dir",
    cmd.chrootBase,
    "--cgroup-version",
    "2",
    "--",
    ...cmd.firecrackerArgs,
  ];
}

/** Kernel files as the jailed Firecracker sees them. */
export interface JailedKernel {
  kernel: string;
  initrd?: string;
}

/**
 * Build a fresh chroot for a jailed start: remove a stale one, hard-link (or
 * copy, across filesystems) kernel and initrd into it, hard-link the per-VM root
 * disk (same filesystem, so guest writes land in the persistent disk), create
 * the log and metrics files, and hand everything to uid/gid.
 */
export async function prepareJail(
  layout: VmLayout,
  kernel: { vmlinux: string; initramfs?: string },
  uid: number,
  gid: number,
): Promise<JailedKernel> {
  const root = layout.chrootRoot;
  if (!root || !layout.jailBase) throw new PyroError("internal", "prepareJail called on a plain layout", { hint: "this is a bug in pyro" });
  const instanceDir = join(root, "..");
  await rm(instanceDir, { recursive: true, force: true });
  await mkdir(root, { recursive: true, mode: 0o700 });
  const placed: string[] = [];
  const place = async (source: string, name: string): Promise<string> => {
    const target = join(root, name);
    // A hard link shares the inode: never chown it. Link only world-readable
    // files; copy (and chown the copy) otherwise or across filesystems.
    const readable = ((await stat(source)).mode & 0o004) !== 0;
    if (!(readable && (await tryLink(source, target)))) {
      await copyFile(source, target);
      placed.push(target);
    }
    return `/${name}`;
  };
  const result: JailedKernel = { kernel: await place(kernel.vmlinux, JAIL_FILES.kernel) };
  if (kernel.initramfs) result.initrd = await place(kernel.initramfs, JAIL_FILES.initrd);
  await link(layout.rootDisk, join(root, JAIL_FILES.rootDisk)).catch((error: unknown) => {
    throw new PyroError("io_error", `cannot hard-link the root disk into the jail: ${(error as Error).message}`, {
      hint: "the VM directory and its jail must be on one filesystem",
      details: { source: layout.rootDisk, jail: root },
      cause: error,
    });
  });
  placed.push(join(root, JAIL_FILES.rootDisk));
  for (const file of [layout.logFile, layout.metricsFile]) {
    await writeFile(file, "", { mode: 0o600 });
    placed.push(file);
  }
  for (const file of placed) await chown(file, uid, gid);
  return result;
}

async function tryLink(source: string, target: string): Promise<boolean> {
  try {
    await link(source, target);
    return true;
  } catch {
    return false;
  }
}

/** Name of the Firecracker binary inside the chroot (the jailer copies it there). */
export function jailedExecName(firecrackerBin: string): string {
  return basename(firecrackerBin);
}
