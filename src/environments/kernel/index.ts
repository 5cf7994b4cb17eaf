import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KernelArtifacts } from "../types.js";
import { PyroError } from "../../util/errors.js";
import { withLock } from "../../util/lock.js";
import { BUSYBOX_PACKAGE, KERNEL_METAPACKAGE, downloadDeb, extractDeb, resolveKernelPackage } from "./debian.js";
import { buildInitramfs } from "./initramfs.js";
import { extractVmlinux } from "./vmlinux.js";

export { buildInitramfs, WANTED_MODULES } from "./initramfs.js";
export { writeNewcCpio, type CpioEntry } from "./cpio.js";
export { extractVmlinux } from "./vmlinux.js";
export { INIT_SCRIPT } from "./init-script.js";

/**
 * Bumped whenever the initramfs layout or `/init` changes; an installed kernel
 * of another format is rebuilt.
 */
export const KERNEL_FORMAT = 6;

const MANIFEST = "manifest.json";

/** What `<cacheDir>/kernels/<release>/manifest.json` records. */
export interface KernelManifest {
  format: number;
  release: string;
  kernel_package: string;
  busybox_package: string;
  modules: string[];
  files: Record<string, { sha256: string; bytes: number }>;
}

function artifactsOf(dir: string, manifest: KernelManifest): KernelArtifacts {
  return {
    release: manifest.release,
    vmlinuz: join(dir, "vmlinuz"),
    initramfs: join(dir, "initramfs.img"),
    ...(manifest.files.vmlinux ? { vmlinux: join(dir, "vmlinux") } : {}),
  };
}

function readManifest(dir: string): KernelManifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as KernelManifest;
    return m.format === KERNEL_FORMAT && typeof m.release === "string" ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The newest kernel already installed under `<cacheDir>/kernels/`, without any
 * network access; `undefined` when there is none of the current format.
 */
export function installedKernel(cacheDir: string): KernelArtifacts | undefined {
  const root = join(cacheDir, "kernels");
  if (!existsSync(root)) return undefined;
  const releases = readdirSync(root)
    .filter((name) => !name.startsWith("."))
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  for (const release of releases) {
    const manifest = readManifest(join(root, release));
    if (manifest) return artifactsOf(join(root, release), manifest);
  }
  return undefined;
}

function sha256(data: Buffer): { sha256: string; bytes: number } {
  return { sha256: createHash("sha256").update(data).digest("hex"), bytes: data.length };
}

/**
 * The guest kernel every VM environment boots: Debian's cloud kernel (bzImage),
 * an initramfs (busybox-static, the virtio/vsock modules, `/init` that
 * switch_roots into `/sbin/pyro-init`) and, when cheap to extract, an ELF
 * vmlinux for Firecracker. Installed once under `<cacheDir>/kernels/<release>/`,
 * under the lock `<cacheDir>/locks/kernel.lock`, built in a temp dir and
 * renamed into place, so a half-finished install never looks installed.
 * Needs apt-get and dpkg-deb (Debian's archive) only when nothing is installed.
 */
export async function ensureKernel(cacheDir: string, onProgress?: (line: string) => void): Promise<KernelArtifacts> {
  const installed = installedKernel(cacheDir);
  if (installed) return installed;
  return withLock(
    join(cacheDir, "locks", "kernel.lock"),
    async () => installedKernel(cacheDir) ?? (await installKernel(cacheDir, onProgress)),
    { onWait: () => onProgress?.("[pull] phase=kernel waiting for another pull") },
  );
}

async function installKernel(cacheDir: string, onProgress?: (line: string) => void): Promise<KernelArtifacts> {
  const progress = (msg: string): void => onProgress?.(`[pull] phase=kernel ${msg}`);
  const root = join(cacheDir, "kernels");
  await mkdir(root, { recursive: true });
  // Under the lock, temp dirs left here belong to pulls that died.
  for (const name of await readdir(root)) {
    if (name.startsWith(".tmp-") || name.startsWith(".old-")) await rm(join(root, name), { recursive: true, force: true });
  }
  const tmp = await mkdtemp(join(root, ".tmp-"));
  try {
    const dl = join(tmp, "download");
    await mkdir(dl);
    progress(`resolve package=${KERNEL_METAPACKAGE}`);
    const kernelPackage = await resolveKernelPackage(await downloadDeb(KERNEL_METAPACKAGE, dl), dl);
    progress(`download package=${kernelPackage}`);
    const kernelDeb = await downloadDeb(kernelPackage, dl);
    progress(`download package=${BUSYBOX_PACKAGE}`);
    const busyboxDeb = await downloadDeb(BUSYBOX_PACKAGE, dl);
    const unpacked = join(tmp, "unpacked");
    await mkdir(unpacked);
    progress("extract");
    await extractDeb(kernelDeb, unpacked);
    await extractDeb(busyboxDeb, unpacked);
    const releases = await readdir(join(unpacked, "lib", "modules"));
    const release = releases[0];
    if (releases.length !== 1 || release === undefined) {
      throw new PyroError("corrupt_state", `${kernelPackage} holds ${releases.length} module trees, expected 1`);
    }
    const vmlinuz = await readFile(join(unpacked, "boot", `vmlinuz-${release}`));
    progress(`initramfs release=${release}`);
    const { image, modules } = buildInitramfs({
      modulesDir: join(unpacked, "lib", "modules", release),
      busybox: join(unpacked, "bin", "busybox"),
    });
    const out = join(tmp, "out");
    await mkdir(out);
    const files: KernelManifest["files"] = {};
    await writeFile(join(out, "vmlinuz"), vmlinuz);
    files.vmlinuz = sha256(vmlinuz);
    await writeFile(join(out, "initramfs.img"), image);
    files["initramfs.img"] = sha256(image);
    progress("vmlinux");
    const vmlinux = extractVmlinux(vmlinuz);
    if (vmlinux) {
      await writeFile(join(out, "vmlinux"), vmlinux);
      files.vmlinux = sha256(vmlinux);
    }
    const manifest: KernelManifest = {
      format: KERNEL_FORMAT,
      release,
      kernel_package: kernelPackage,
      busybox_package: BUSYBOX_PACKAGE,
      modules,
      files,
    };
    await writeFile(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    const dest = join(root, release);
    await moveAsideStale(dest, root);
    try {
      await rename(out, dest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      // Another process installed it first; use theirs.
    }
    const final = readManifest(dest);
    if (!final) throw new PyroError("corrupt_state", `kernel install at ${dest} is unreadable`, { hint: `remove ${dest} and retry` });
    progress(`done release=${release}`);
    return artifactsOf(dest, final);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** An install of an older format blocks the rename; move it out of the way (removed later). */
async function moveAsideStale(dest: string, root: string): Promise<void> {
  if (!existsSync(dest) || readManifest(dest)) return;
  const trash = await mkdtemp(join(root, ".old-"));
  await rename(dest, join(trash, "k")).catch(() => undefined);
  await rm(trash, { recursive: true, force: true });
}
