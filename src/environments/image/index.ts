import { open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PyroError } from "../../util/errors.js";
import { withLock } from "../../util/lock.js";
import type { AgentBinary } from "../agent.js";
import { buildExt4Image } from "../build/image.js";
import { injectAgent } from "../build/rootfs.js";
import { diskUsage } from "../disk-usage.js";
import { pullLine, type ProgressFn } from "../progress.js";
import type { EnvironmentDetails, PrunedEntry } from "../results.js";
import type { SnapshotSummary } from "../snapshots.js";
import type { InstalledEnvironment, KernelArtifacts } from "../types.js";
import { parseImageReference, pinnedName } from "./reference.js";
import { imagePaths, imagesRoot, lookupRef, readImageManifest, type ImageManifest } from "./store.js";

export { isImageName, parseImageReference, IMAGE_PREFIX } from "./reference.js";
export { pullImage, type ImagePullOptions } from "./pull.js";
export { DEFAULT_UNPACK_LIMITS, type UnpackLimits } from "./unpack.js";
export type { ImageManifest } from "./store.js";

/** The installed image `name` names (tag resolved here before, or a digest), or null. */
export async function installedImageManifest(name: string, cacheDir: string, insecure: readonly string[] = []): Promise<ImageManifest | null> {
  const ref = parseImageReference(name, insecure);
  const digest = (await lookupRef(cacheDir, ref.canonical)) ?? ref.digest;
  return digest ? readImageManifest(cacheDir, digest) : null;
}

/** The image as an installed environment: named by its pinned reference, with what its config says processes run with. */
export function imageEnvironment(cacheDir: string, name: string, manifest: ImageManifest, kernel?: KernelArtifacts): InstalledEnvironment {
  const paths = imagePaths(cacheDir, manifest.manifest_digest);
  return {
    // Pinned in the registry it was asked from (one digest may be installed from several).
    name: pinnedName(parseImageReference(name), manifest.manifest_digest),
    cacheDir,
    dir: paths.dir,
    rootfsDir: paths.rootfs,
    rootImage: paths.image,
    image: { reference: manifest.reference, digest: manifest.manifest_digest, ...manifest.runtime },
    ...(kernel ? { kernel } : {}),
  };
}

/** `env inspect`'s details of an image reference (installed or not; nothing is fetched). */
export async function inspectImage(name: string, cacheDir: string, kernel: KernelArtifacts | undefined, snapshots: (image: string) => SnapshotSummary[], insecure: readonly string[] = []): Promise<EnvironmentDetails> {
  const ref = parseImageReference(name, insecure);
  const manifest = await installedImageManifest(name, cacheDir, insecure);
  const paths = manifest ? imagePaths(cacheDir, manifest.manifest_digest) : null;
  const none = { dir: "", manifest: "", rootfs_dir: "", root_image: "" };
  return {
    name: manifest ? pinnedName(ref, manifest.manifest_digest) : ref.canonical,
    description: `OCI image ${ref.canonical}`,
    installed: manifest !== null,
    status: manifest ? "installed" : "not_installed",
    catalog_version: "",
    suite: "",
    packages: [],
    problem: null,
    source: manifest ? "image" : null,
    reference: ref.canonical,
    path: paths?.dir ?? null,
    size_bytes: manifest ? manifest.rootfs.size_bytes + manifest.image.disk_bytes : null,
    created_at: manifest?.pulled_at ?? null,
    digests: manifest ? { oci_manifest: manifest.manifest_digest, oci_config: manifest.config_digest, agent: manifest.agent.sha256, ...(manifest.index_digest ? { oci_index: manifest.index_digest } : {}) } : {},
    agent_version: manifest?.agent.version ?? null,
    paths: paths ? { dir: paths.dir, manifest: paths.manifest, rootfs_dir: paths.rootfs, root_image: paths.image } : none,
    sizes: {
      rootfs_bytes: manifest?.rootfs.size_bytes ?? null,
      root_image_bytes: manifest?.image.size_bytes ?? null,
      root_image_disk_bytes: manifest?.image.disk_bytes ?? null,
      oci_layer_bytes: manifest ? manifest.layers.reduce((sum, layer) => sum + layer.size_bytes, 0) : null,
    },
    agent_paths: [],
    kernel: kernel ? { release: kernel.release, vmlinuz: kernel.vmlinuz, initramfs: kernel.initramfs, vmlinux: kernel.vmlinux ?? null } : null,
    boot_snapshots: paths ? snapshots(paths.image) : [],
    image: manifest
      ? {
          reference: ref.canonical,
          pinned: pinnedName(ref, manifest.manifest_digest),
          digest: manifest.manifest_digest,
          platform: manifest.platform,
          layers: manifest.layers,
          size_bytes: manifest.rootfs.size_bytes,
          file_count: manifest.rootfs.file_count,
          pulled_at: manifest.pulled_at,
          env: manifest.runtime.env,
          working_dir: manifest.runtime.working_dir,
          user: manifest.runtime.user,
        }
      : null,
  };
}

/** Re-inject a changed agent into an installed image (as refreshAgent does for catalog environments). */
export async function refreshImageAgent(cacheDir: string, manifest: ImageManifest, agent: AgentBinary, onProgress: ProgressFn): Promise<void> {
  if (manifest.agent.sha256 === agent.sha256) return;
  const paths = imagePaths(cacheDir, manifest.manifest_digest);
  await withLock(paths.lock, async () => {
    const current = await readImageManifest(cacheDir, manifest.manifest_digest);
    if (!current || current.agent.sha256 === agent.sha256) return;
    onProgress(pullLine("image", current.reference, { reason: "agent_changed", agent: agent.sha256 }));
    await injectAgent(paths.rootfs, agent);
    const next = `${paths.image}.next`;
    await rm(next, { force: true });
    const info = await buildExt4Image(paths.rootfs, next, current.rootfs.size_bytes + current.rootfs.file_count * 4096 + agent.sizeBytes, {
      inodes: Math.max(65_536, Math.ceil(current.rootfs.file_count * 1.25) + 32_768),
    });
    await rename(next, paths.image);
    const updated: ImageManifest = { ...current, image: { size_bytes: info.sizeBytes, disk_bytes: info.diskBytes }, agent: { version: agent.version, sha256: agent.sha256, size_bytes: agent.sizeBytes } };
    const temp = `${paths.manifest}.next`;
    await writeFile(temp, `${JSON.stringify(updated, null, 2)}\n`);
    const handle = await open(temp, "r");
    await handle.sync();
    await handle.close();
    await rename(temp, paths.manifest);
  });
}

/**
 * Remove installed images whose manifest digest is not in `inUse` (the
 * images records still name), their tag entries, and blobs of pulls that
 * no longer run. An image being pulled is skipped (its lock is held).
 */
export async function pruneImages(cacheDir: string, inUse: ReadonlySet<string>, removed: PrunedEntry[]): Promise<void> {
  const root = imagesRoot(cacheDir);
  const names = await readdir(root).catch(() => [] as string[]);
  const kept = new Set<string>();
  for (const name of names) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const digest = `sha256:${name}`;
    if (inUse.has(digest)) {
      kept.add(digest);
      continue;
    }
    const paths = imagePaths(cacheDir, digest);
    try {
      await withLock(
        paths.lock,
        async () => {
          const bytes = await diskUsage(paths.dir);
          await rm(paths.dir, { recursive: true, force: true });
          removed.push({ path: paths.dir, kind: "image", reason: "no workspace or VM uses this image", bytes });
        },
        { timeoutMs: 2_000 },
      );
    } catch (error) {
      if (!(error instanceof PyroError && error.code === "busy")) throw error;
      kept.add(digest);
    }
  }
  const refs = join(root, "refs");
  for (const name of await readdir(refs).catch(() => [] as string[])) {
    const path = join(refs, name);
    let digest: string | null = null;
    try {
      digest = (JSON.parse(await readFile(path, "utf8")) as { manifest_digest?: string }).manifest_digest ?? null;
    } catch {
      digest = null;
    }
    if (!digest || !kept.has(digest)) await rm(path, { force: true });
  }
  const blobs = join(root, "blobs");
  for (const name of await readdir(blobs).catch(() => [] as string[])) {
    const path = join(blobs, name);
    const owner = /\.(\d+)\.partial$/.exec(name);
    if (owner && isAlive(Number(owner[1]))) continue;
    const bytes = await diskUsage(path);
    await rm(path, { force: true });
    removed.push({ path, kind: "image", reason: "layer blob of a pull that did not finish", bytes });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
