import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readlinkSync } from "node:fs";
import { mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PyroError } from "../../util/errors.js";
import type { PyroConfig } from "../../util/config.js";
import { withLock } from "../../util/lock.js";
import { loadAgentBinary } from "../agent.js";
import { buildExt4Image } from "../build/image.js";
import { injectAgent, prepareRootfs } from "../build/rootfs.js";
import { cacheWriteError } from "../fs-errors.js";
import { makeWorkDir } from "../install.js";
import { RegistryClient } from "../oci/client.js";
import { RegistryError } from "../oci/errors.js";
import { percentReporter, pullLine, type ProgressFn } from "../progress.js";
import { registryCredentials, type CredentialSource } from "./credentials.js";
import { LAYER_TYPES, resolveImage, type ResolvedImage } from "./document.js";
import { parseImageReference, pinnedName, type ImageReference } from "./reference.js";
import { imagePaths, imagesRoot, lookupRef, readImageManifest, recordRef, type ImageManifest } from "./store.js";
import { DEFAULT_UNPACK_LIMITS, LayerUnpacker, type UnpackLimits } from "./unpack.js";
import { resolveImageUser } from "./user.js";

/** Options of {@link pullImage}. */
export interface ImagePullOptions {
  config: PyroConfig;
  cacheDir: string;
  onProgress?: ProgressFn;
  /** Ask the registry again even when the reference resolved here before. */
  force?: boolean;
  /** Never ask the registry: only what is installed (`not_found` otherwise). */
  offline?: boolean;
  limits?: UnpackLimits;
  lockTimeoutMs?: number;
}

/** Mount points the guest's init needs on a read-only root, made when an image lacks them. */
const GUEST_DIRS: Array<[string, number]> = [["proc", 0o555], ["sys", 0o555], ["dev", 0o755], ["run", 0o755], ["tmp", 0o1777], ["root", 0o700], ["etc", 0o755]];

/** Restate a registry failure for an image pull: what to check, and which credentials were used (never their values). */
function imageError(error: unknown, ref: ImageReference, source: CredentialSource): unknown {
  if (!(error instanceof RegistryError)) return error;
  const details = { reference: ref.canonical, registry: ref.domain, credentials: source ?? "none" };
  switch (error.failure) {
    case "denied":
      return new PyroError("failed_precondition", `registry ${ref.domain} refused access to ${ref.repository}${source ? ` with the credentials from ${source}` : " without credentials"}`, {
        hint: source
          ? `check the user and password for ${ref.domain} in ${source === "docker_config" ? "~/.docker/config.json" : "PYRO_REGISTRY_AUTH"}`
          : `add credentials for ${ref.domain}: \`docker login ${ref.domain}\` (auths in ~/.docker/config.json) or PYRO_REGISTRY_AUTH=${ref.domain}=USER:PASSWORD`,
        details,
        cause: error,
      });
    case "unreachable":
      return new PyroError("unavailable", `${error.message} while pulling ${ref.canonical}`, {
        hint: `check the registry in the reference and the network; a registry that speaks plain HTTP must be listed in PYRO_INSECURE_REGISTRIES`,
        details,
        cause: error,
      });
    case "missing":
      return new PyroError("not_found", `image ${ref.canonical} is not in registry ${ref.domain}`, { hint: "check the repository, tag and digest of the reference", details, cause: error });
    default:
      return new PyroError(error.code, `${error.message}`, { hint: error.hint ?? "nothing was installed", details: { ...details, ...error.details }, cause: error });
  }
}

/** Follow `/bin/sh` inside `root` (symlinks clamped at root) to an executable regular file. */
function hasShell(root: string): boolean {
  let path = ["bin", "sh"];
  for (let budget = 40; budget > 0; budget--) {
    const resolved: string[] = [];
    let redirected = false;
    for (let i = 0; i < path.length; i++) {
      const part = path[i] as string;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        resolved.pop();
        continue;
      }
      const full = join(root, ...resolved, part);
      let info;
      try {
        info = lstatSync(full);
      } catch {
        return false;
      }
      if (info.isSymbolicLink()) {
        const target = readlinkSync(full);
        path = [...(target.startsWith("/") ? [] : resolved), ...target.split("/"), ...path.slice(i + 1)];
        redirected = true;
        break;
      }
      resolved.push(part);
      if (i === path.length - 1) return info.isFile() && (info.mode & 0o111) !== 0;
    }
    if (!redirected) return false;
  }
  return false;
}

/**
 * Whether `rel` still leads, through real directories only, to the inode
 * `ino` that was written: a later member may have replaced a directory on
 * the way with a symlink out of the rootfs, and setfattr would follow it.
 */
function stillInside(root: string, rel: string, ino: number): boolean {
  const parts = rel.split("/");
  let path = root;
  for (const [index, part] of parts.entries()) {
    path = join(path, part);
    let info;
    try {
      info = lstatSync(path);
    } catch {
      return false;
    }
    if (index < parts.length - 1 && !info.isDirectory()) return false;
    if (index === parts.length - 1) return info.ino === ino;
  }
  return false;
}

/** Apply collected xattrs with `setfattr --restore` (attr package); says how many could not be kept. */
function applyXattrs(root: string, xattrs: LayerUnpacker["counts"]["xattrs"]): number {
  const safe = xattrs.filter(({ path, ino }) => stillInside(root, path, ino));
  if (safe.length === 0) return xattrs.length - safe.length;
  const lines: string[] = [];
  for (const { path, name, value } of safe) lines.push(`# file: ${path}`, `${name}=0s${value.toString("base64")}`, "");
  const result = spawnSync("setfattr", ["-h", "--restore=-"], { cwd: root, input: lines.join("\n"), encoding: "utf8" });
  return result.status === 0 ? xattrs.length - safe.length : xattrs.length;
}

/** Download every layer in order into `blobDir` (verified; kept there so a failed pull resumes), each promise resolving once its blob is in place. */
function downloadLayers(client: RegistryClient, resolved: ResolvedImage, blobDir: string, label: string, onProgress: ProgressFn): Array<Promise<string>> {
  const results: Array<Promise<string>> = [];
  let previous: Promise<unknown> = Promise.resolve();
  for (const layer of resolved.layers) {
    const path = join(blobDir, layer.digest.replace(/^sha256:/, ""));
    const done = previous.then(async () => {
      if (await stat(path).then((info) => info.size === layer.size, () => false)) return path;
      const partial = `${path}.${process.pid}.partial`;
      onProgress(pullLine("download", label, { digest: layer.digest, bytes: layer.size }));
      try {
        await client.downloadBlob(layer.digest, layer.size, partial, percentReporter((percent, got, total) => onProgress(pullLine("download", label, { digest: layer.digest, percent, bytes: got, total_bytes: total })), 25));
        await rename(partial, path);
      } finally {
        await rm(partial, { force: true });
      }
      return path;
    });
    // A failed download stops the ones after it; the caller sees the first failure.
    previous = done;
    results.push(done);
  }
  for (const promise of results) promise.catch(() => undefined);
  return results;
}

/**
 * Pull the image `name` into the cache (`<cache>/images/<manifest digest>/`):
 * resolve it to a linux/amd64 manifest, download and verify its layers,
 * unpack them in order with OCI semantics inside caps, inject the agent,
 * build the ext4 image, write the manifest last and rename the directory
 * into place. An image already installed under that digest is reused (two
 * tags of one digest share it). Returns its manifest.
 */
export async function pullImage(name: string, options: ImagePullOptions): Promise<{ manifest: ImageManifest; pulled: boolean; pinned: string }> {
  const { config, cacheDir } = options;
  const onProgress = options.onProgress ?? (() => undefined);
  const ref = parseImageReference(name, config.oci.insecureRegistries);
  const label = ref.canonical;
  if (!options.force) {
    const known = ref.digest ? ((await lookupRef(cacheDir, ref.canonical)) ?? ref.digest) : await lookupRef(cacheDir, ref.canonical);
    const installed = known ? await readImageManifest(cacheDir, known) : null;
    if (installed) {
      onProgress(pullLine("ready", label, { cached: true, digest: installed.manifest_digest }));
      return { manifest: installed, pulled: false, pinned: pinnedName(ref, installed.manifest_digest) };
    }
  }
  if (options.offline) {
    throw new PyroError("not_found", `image ${ref.canonical} is not pulled`, { hint: `pyro env pull ${name}`, details: { reference: ref.canonical } });
  }
  const { credentials, source } = registryCredentials(config, ref.domain);
  const client = new RegistryClient(ref, credentials ? { credentials } : {});
  onProgress(pullLine("resolve", label, { registry: ref.domain, credentials: source ?? "none" }));
  let resolved: ResolvedImage;
  try {
    resolved = await resolveImage(client, ref);
  } catch (error) {
    throw imageError(error, ref, source);
  }
  const paths = imagePaths(cacheDir, resolved.manifestDigest);
  const pinned = pinnedName(ref, resolved.manifestDigest);
  const remember = async () => {
    await recordRef(cacheDir, ref.canonical, resolved.manifestDigest);
    await recordRef(cacheDir, pinned, resolved.manifestDigest);
  };
  try {
    await mkdir(imagesRoot(cacheDir), { recursive: true });
  } catch (error) {
    throw cacheWriteError(error, cacheDir);
  }
  const existing = await readImageManifest(cacheDir, resolved.manifestDigest);
  if (existing && !options.force) {
    await remember();
    onProgress(pullLine("ready", label, { cached: true, digest: resolved.manifestDigest }));
    return { manifest: existing, pulled: false, pinned };
  }
  return withLock(
    paths.lock,
    async () => {
      const again = await readImageManifest(cacheDir, resolved.manifestDigest);
      if (again && !options.force) {
        await remember();
        return { manifest: again, pulled: false, pinned };
      }
      const manifest = await convert(ref, pinned, resolved, client, source, options, onProgress);
      await remember();
      return { manifest, pulled: true, pinned };
    },
    {
      timeoutMs: options.lockTimeoutMs ?? 30 * 60_000,
      onWait: (owner) => onProgress(pullLine("resolve", label, { waiting_for_pid: owner?.pid ?? "unknown" })),
    },
  );
}

async function convert(
  ref: ImageReference,
  pinned: string,
  resolved: ResolvedImage,
  client: RegistryClient,
  source: CredentialSource,
  options: ImagePullOptions,
  onProgress: ProgressFn,
): Promise<ImageManifest> {
  const { cacheDir } = options;
  const label = ref.canonical;
  const paths = imagePaths(cacheDir, resolved.manifestDigest);
  const agent = await loadAgentBinary(options.config);
  const blobDir = join(imagesRoot(cacheDir), "blobs");
  await mkdir(blobDir, { recursive: true });
  let workDir: string | undefined = await makeWorkDir(cacheDir, `image-${resolved.manifestDigest.slice(7, 19)}`);
  try {
    const rootfs = join(workDir, "rootfs");
    await mkdir(rootfs, { mode: 0o755 });
    const downloads = downloadLayers(client, resolved, blobDir, label, onProgress);
    const unpacker = new LayerUnpacker(rootfs, options.limits ?? DEFAULT_UNPACK_LIMITS);
    for (const [index, layer] of resolved.layers.entries()) {
      let blob: string;
      try {
        blob = await (downloads[index] as Promise<string>);
      } catch (error) {
        throw imageError(error, ref, source);
      }
      onProgress(pullLine("build", label, { step: "unpack", layer: `${index + 1}/${resolved.layers.length}`, digest: layer.digest }));
      await unpacker.apply(blob, LAYER_TYPES[layer.mediaType] ?? "none", layer.digest);
    }
    const { counts } = unpacker;
    const lostXattrs = applyXattrs(rootfs, counts.xattrs);
    if (lostXattrs > 0) onProgress(pullLine("build", label, { warning: "xattrs_not_kept", count: lostXattrs, fix: "install attr (setfattr)" }));
    if (!hasShell(rootfs)) {
      throw new PyroError("failed_precondition", `image ${ref.canonical} has no /bin/sh`, {
        hint: "pyro runs commands through /bin/sh -c and needs a shell in the image: use a variant with one (e.g. -slim, alpine, busybox), not a distroless or scratch image. Nothing was installed",
        details: { reference: ref.canonical },
      });
    }
    const runAs = resolveImageUser(rootfs, resolved.runtime.user, ref.canonical);
    for (const [dir, mode] of GUEST_DIRS) {
      const full = join(rootfs, dir);
      if (!existsSync(full)) {
        mkdirSync(full, { mode });
        chmodSync(full, mode);
      }
    }
    await prepareRootfs(rootfs);
    await injectAgent(rootfs, agent);
    const contentBytes = counts.bytes + counts.files * 4096 + agent.sizeBytes;
    onProgress(pullLine("image", label, { format: "ext4", content_bytes: contentBytes, files: counts.files }));
    const image = join(workDir, "rootfs.ext4");
    const info = await buildExt4Image(rootfs, image, contentBytes, { inodes: Math.max(65_536, Math.ceil(counts.files * 1.25) + 32_768) });
    onProgress(pullLine("install", label, { digest: resolved.manifestDigest }));
    const manifest: ImageManifest = {
      schema_version: 1,
      kind: "image",
      reference: ref.canonical,
      pinned,
      manifest_digest: resolved.manifestDigest,
      index_digest: resolved.indexDigest,
      config_digest: resolved.configDigest,
      platform: resolved.platform,
      layers: resolved.layers.map((layer) => ({ digest: layer.digest, size_bytes: layer.size, media_type: layer.mediaType })),
      runtime: { ...resolved.runtime, run_as: runAs },
      rootfs: { size_bytes: counts.bytes, file_count: counts.files },
      image: { size_bytes: info.sizeBytes, disk_bytes: info.diskBytes },
      agent: { version: agent.version, sha256: agent.sha256, size_bytes: agent.sizeBytes },
      pulled_at: new Date().toISOString(),
    };
    const manifestPath = join(workDir, "manifest.json");
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    for (const path of [image, manifestPath, workDir]) {
      const handle = await open(path, "r");
      await handle.sync();
      await handle.close();
    }
    await rm(paths.dir, { recursive: true, force: true });
    await rename(workDir, paths.dir);
    workDir = undefined;
    // The verified blobs were kept for a retry; the image is installed now.
    for (const layer of resolved.layers) await rm(join(blobDir, layer.digest.replace(/^sha256:/, "")), { force: true });
    onProgress(pullLine("ready", label, { digest: resolved.manifestDigest, image_bytes: info.sizeBytes, files: counts.files }));
    return manifest;
  } catch (error) {
    throw cacheWriteError(error, cacheDir);
  } finally {
    if (workDir) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
