import { PyroError } from "../util/errors.js";
import { resolveConfig } from "../util/config.js";
import { loadAgentBinary } from "./agent.js";
import { CATALOG, CATALOG_VERSION, catalogEntry } from "./catalog.js";
import { refreshAgent } from "./refresh.js";
import { ensureKernel, installedKernel } from "./kernel/index.js";
import { pullConfig, pullEnvironmentInto, type PullOptions } from "./pull.js";
import { pruneCache } from "./prune.js";
import { detail, summarize, type EnvironmentDetails, type EnvironmentList, type PruneResult, type PullResult } from "./results.js";
import { snapshotsOfImage } from "./snapshots.js";
import { cacheState } from "./status.js";
import type { InstalledEnvironment } from "./types.js";
import { imageEnvironment, inspectImage, installedImageManifest, isImageName, pruneImages, pullImage, refreshImageAgent } from "./image/index.js";

export { CATALOG, CATALOG_VERSION, DEFAULT_OCI_REGISTRY, catalogEntry, catalogNames } from "./catalog.js";
export type { PullOptions, PullSource } from "./pull.js";
export type { EnvironmentDetails, EnvironmentList, EnvironmentSummary, PruneResult, PrunedEntry, PullResult } from "./results.js";
export type { EnvironmentManifest } from "./manifest.js";
export type { ProgressFn } from "./progress.js";
export type { CatalogEntry, ImageRuntimeConfig, InstalledEnvironment, KernelArtifacts } from "./types.js";
export type { ImageDetails } from "./results.js";
export { isImageName, parseImageReference, IMAGE_PREFIX, DEFAULT_UNPACK_LIMITS, type UnpackLimits } from "./image/index.js";

/** The catalog with each environment's install state in `cacheDir`. */
export async function listEnvironments(cacheDir: string = resolveConfig().cacheDir): Promise<EnvironmentList> {
  const environments = [];
  for (const entry of CATALOG) environments.push(summarize(entry, await cacheState(cacheDir, entry.name)));
  return { catalog_version: CATALOG_VERSION, cache_dir: cacheDir, environments };
}

/** Everything known about `name` in `cacheDir`: install state, paths, digests, sizes. Unknown names throw `not_found`. */
export async function inspectEnvironment(name: string, cacheDir: string = resolveConfig().cacheDir): Promise<EnvironmentDetails> {
  if (isImageName(name)) return inspectImage(name, cacheDir, installedKernel(cacheDir), (image) => snapshotsOfImage(cacheDir, image));
  const entry = catalogEntry(name);
  const state = await cacheState(cacheDir, name);
  return detail(entry, state, installedKernel(cacheDir), snapshotsOfImage(cacheDir, state.paths.image));
}

/**
 * Install `name` (OCI artifact when a registry is configured and answers,
 * else a local mmdebstrap build), printing `[pull] phase=…` lines through
 * `onProgress`. Returns at once, `pulled: false`, when it is already
 * installed; concurrent pulls of one environment do the work once.
 */
export async function pullEnvironment(name: string, options: PullOptions = {}): Promise<PullResult> {
  const started = Date.now();
  const config = pullConfig(options);
  const cacheDir = options.cacheDir ?? config.cacheDir;
  if (isImageName(name)) {
    const { pulled } = await pullImage(name, { config, cacheDir, ...imageOptions(options) });
    return { ...(await inspectEnvironment(name, cacheDir)), pulled, duration_ms: Date.now() - started };
  }
  const { pulled } = await pullEnvironmentInto(name, { ...options, config, cacheDir });
  return { ...(await inspectEnvironment(name, cacheDir)), pulled, duration_ms: Date.now() - started };
}

/**
 * Remove temp dirs of dead pulls, broken or retired environments, and stale
 * locks; with `imagesInUse` (manifest digests that records name), also
 * every pulled image not in it. Says what it freed.
 */
export async function pruneEnvironments(cacheDir: string = resolveConfig().cacheDir, options: { imagesInUse?: ReadonlySet<string> } = {}): Promise<PruneResult> {
  const result = await pruneCache(cacheDir);
  if (!options.imagesInUse) return result;
  const removed = [...result.removed];
  await pruneImages(cacheDir, options.imagesInUse, removed);
  return { ...result, removed, freed_bytes: removed.reduce((sum, entry) => sum + entry.bytes, 0) };
}

function imageOptions(options: PullOptions) {
  return {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.force ? { force: true } : {}),
    ...(options.imageLimits ? { limits: options.imageLimits } : {}),
    ...(options.lockTimeoutMs ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
  };
}

/**
 * The installed environment `name` (kernel filled when one is installed,
 * without network access). Throws `not_found` with the pull command as hint
 * when it is not installed.
 */
export async function getInstalledEnvironment(name: string, cacheDir: string = resolveConfig().cacheDir): Promise<InstalledEnvironment> {
  if (isImageName(name)) {
    const manifest = await installedImageManifest(name, cacheDir);
    if (!manifest) {
      throw new PyroError("not_found", `image ${name} is not pulled`, { hint: `pyro env pull ${name}`, details: { environment: name, cache_dir: cacheDir } });
    }
    const kernel = installedKernel(cacheDir);
    return imageEnvironment(cacheDir, name, manifest, kernel);
  }
  catalogEntry(name);
  const state = await cacheState(cacheDir, name);
  if (state.status !== "installed") {
    throw new PyroError("not_found", `environment ${name} is not installed${state.status === "broken" ? ` (broken: ${state.reason})` : ""}`, {
      hint: `pyro env pull ${name}`,
      details: { environment: name, cache_dir: cacheDir },
    });
  }
  const kernel = installedKernel(cacheDir);
  return {
    name,
    cacheDir,
    dir: state.paths.dir,
    rootfsDir: state.paths.rootfs,
    rootImage: state.paths.image,
    ...(kernel ? { kernel } : {}),
  };
}

/** Options of {@link ensureEnvironment}. */
export interface EnsureOptions extends PullOptions {
  /** Also install the shared guest kernel (VM backends need it; default true). */
  kernel?: boolean;
  /** Re-inject the agent when the installed one differs from the current build (default true). */
  refreshAgent?: boolean;
}

/** The installed environment `name`, pulling it (and the guest kernel) first when missing. */
export async function ensureEnvironment(name: string, options: EnsureOptions = {}): Promise<InstalledEnvironment> {
  const config = pullConfig(options);
  const cacheDir = options.cacheDir ?? config.cacheDir;
  if (isImageName(name)) {
    const { manifest } = await pullImage(name, { config, cacheDir, ...imageOptions(options) });
    if (options.refreshAgent !== false) await refreshImageAgent(cacheDir, manifest, await loadAgentBinary(config, cacheDir), options.onProgress ?? (() => undefined));
    const installed = imageEnvironment(cacheDir, name, manifest, installedKernel(cacheDir));
    if (options.kernel === false || installed.kernel) return installed;
    return { ...installed, kernel: await ensureKernel(cacheDir, options.onProgress) };
  }
  await pullEnvironmentInto(name, { ...options, config, cacheDir });
  return readyInstalledEnvironment(name, { ...options, config, cacheDir });
}

/**
 * The installed environment `name` made ready to boot, without pulling it
 * (for a caller that has just pulled it): the agent re-injected when it
 * changed, the guest kernel installed unless `kernel: false`.
 */
export async function readyInstalledEnvironment(name: string, options: EnsureOptions = {}): Promise<InstalledEnvironment> {
  const config = pullConfig(options);
  const cacheDir = options.cacheDir ?? config.cacheDir;
  if (options.refreshAgent !== false) {
    const onProgress = options.onProgress ?? (() => undefined);
    if (isImageName(name)) {
      // A pulled OCI image: its agent lives in its own install, keyed by digest (getInstalledEnvironment says when it is missing).
      const manifest = await installedImageManifest(name, cacheDir);
      if (manifest) await refreshImageAgent(cacheDir, manifest, await loadAgentBinary(config, cacheDir), onProgress);
    } else {
      await refreshAgent(cacheDir, name, await loadAgentBinary(config, cacheDir), onProgress);
    }
  }
  const installed = await getInstalledEnvironment(name, cacheDir);
  if (options.kernel === false || installed.kernel) return installed;
  return { ...installed, kernel: await ensureKernel(cacheDir, options.onProgress) };
}
