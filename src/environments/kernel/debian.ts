import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PyroError } from "../../util/errors.js";

const run = promisify(execFile);

/** The Debian metapackage that tracks the current cloud kernel. */
export const KERNEL_METAPACKAGE = "linux-image-cloud-amd64";
/** The Debian package whose `/bin/busybox` goes into the initramfs. */
export const BUSYBOX_PACKAGE = "busybox-static";

async function tool(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, maxBuffer: 16 << 20 });
    return stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new PyroError("unavailable", `${file} is not installed; it is needed to fetch the guest kernel`, {
        hint: "run pyro on a Debian or Ubuntu host with apt and dpkg, or pull a prebuilt environment",
      });
    }
    throw new PyroError("io_error", `${file} ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`, {
      hint: "check that Debian's package mirror is reachable and `apt-get update` has run",
      cause: error,
    });
  }
}

/**
 * Download one package's .deb into `dir` with `apt-get download` (which resolves
 * the newest candidate version) and return its path.
 */
export async function downloadDeb(pkg: string, dir: string): Promise<string> {
  await tool("apt-get", ["download", "-q", pkg], dir);
  const deb = (await readdir(dir)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
  if (!deb) throw new PyroError("io_error", `apt-get download ${pkg} produced no .deb`);
  return join(dir, deb);
}

/** The versioned kernel package the metapackage depends on, e.g. `linux-image-6.1.0-28-cloud-amd64`. */
export async function resolveKernelPackage(metaDeb: string, dir: string): Promise<string> {
  const depends = await tool("dpkg-deb", ["-f", metaDeb, "Depends"], dir);
  const match = /linux-image-[0-9][^\s,(|]*-cloud-amd64/.exec(depends);
  if (!match) throw new PyroError("corrupt_state", `cannot find the kernel package in Depends: ${depends.trim()}`);
  return match[0];
}

/** Unpack a .deb's data into `dest`. */
export async function extractDeb(deb: string, dest: string): Promise<void> {
  await tool("dpkg-deb", ["-x", deb, dest], dest);
}
