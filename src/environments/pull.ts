import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { PyroError } from "../util/errors.js";
import { resolveConfig, type PyroConfig } from "../util/config.js";
import { withLock } from "../util/lock.js";
import { loadAgentBinary } from "./agent.js";
import { buildRootfs } from "./build/mmdebstrap.js";
import { agentRelPaths, prepareRootfs } from "./build/rootfs.js";
import { treeDigest } from "./build/tree-digest.js";
import { catalogEntry, DEFAULT_OCI_REGISTRY } from "./catalog.js";
import { cacheWriteError } from "./fs-errors.js";
import { finishInstall, makeWorkDir, type StagedRootfs } from "./install.js";
import { ENV_FILES, environmentPaths } from "./layout.js";
import type { EnvironmentManifest } from "./manifest.js";
import { credentialsFromEnv } from "./oci/auth.js";
import { RegistryError } from "./oci/errors.js";
import { fetchRootfsFromOci } from "./oci/fetch.js";
import { catalogReference, formatReference, type OciReference } from "./oci/reference.js";
import { pullLine, type ProgressFn } from "./progress.js";
import { cacheState } from "./status.js";
import type { CatalogEntry } from "./types.js";

/** Where a pull may get the environment from. */
export type PullSource = "auto" | "oci" | "local";

/** Options of {@link pullEnvironmentInto}. */
export interface PullOptions {
  /** Cache root; default: the configuration's. */
  cacheDir?: string;
  /** Receives `[pull] phase=…` lines. */
  onProgress?: ProgressFn;
  /**
   * Registry host (`127.0.0.1:5000`, `https://registry.example`) to pull the
   * catalog's reference from. Passing it is an explicit request for OCI: a
   * failing registry is then an error, never a silent local build.
   */
  registryOverride?: string;
  /** `auto` (default): OCI when configured and answering, else local build. */
  source?: PullSource;
  /** Pull again even when installed. */
  force?: boolean;
  /** How long to wait for another process pulling the same environment (default 30 min). */
  lockTimeoutMs?: number;
  /**
   * Print nothing when the environment is already installed. For a caller
   * that has already reported it in the same command (`vm_start` after
   * `vm_create`): a pull that does nothing is not news twice.
   */
  quietWhenInstalled?: boolean;
  /** The resolved configuration: agent binary, registry, Debian mirror, the environment of child processes. */
  config?: PyroConfig;
  /** Without `config`: the environment to resolve one from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** For OCI images: caps on what the layers unpack to (default {@link DEFAULT_UNPACK_LIMITS}). */
  imageLimits?: { maxBytes: number; maxFiles: number };
}

/** The configuration of a pull: the one given, else one resolved from its environment. */
export function pullConfig(options: Pick<PullOptions, "config" | "env">): PyroConfig {
  return options.config ?? resolveConfig(options.env ?? process.env);
}

/** What a pull did. */
export interface PullOutcome {
  manifest: EnvironmentManifest;
  /** False when the environment was already installed (maybe by a concurrent pull). */
  pulled: boolean;
}

/** The registry a pull uses: override, then the configured one (`PYRO_OCI_REGISTRY`, `none` disables), then the catalog default. */
function configuredRegistry(options: PullOptions, config: PyroConfig): string | null {
  if (options.registryOverride !== undefined) return options.registryOverride;
  return config.oci.registry === undefined ? DEFAULT_OCI_REGISTRY : config.oci.registry;
}

async function stageFromOci(
  ref: OciReference,
  entry: CatalogEntry,
  workDir: string,
  onProgress: ProgressFn,
  config: PyroConfig,
): Promise<StagedRootfs> {
  const rootfs = join(workDir, ENV_FILES.rootfs);
  const credentials = credentialsFromEnv(config.env);
  const fetched = await fetchRootfsFromOci(ref, entry, workDir, rootfs, onProgress, credentials ? { credentials } : {});
  await prepareRootfs(rootfs);
  const tree = await treeDigest(rootfs, new Set(await agentRelPaths(rootfs)));
  if (tree.digest !== fetched.config.tree_digest) {
    throw new RegistryError("integrity", `the rootfs extracted from ${formatReference(ref)} does not match its recorded tree digest`, {
      details: { expected: fetched.config.tree_digest, actual: tree.digest },
      hint: "the artifact or its extraction is inconsistent (extraction needs root to keep owners and device nodes); nothing was installed",
    });
  }
  return {
    source: "oci",
    reference: formatReference(ref),
    tree,
    oci: {
      manifest_digest: fetched.manifestDigest,
      config_digest: fetched.configDigest,
      layer_digest: fetched.layerDigest,
      layer_size_bytes: fetched.layerSize,
      layer_media_type: fetched.layerMediaType,
    },
  };
}

async function stageLocally(entry: CatalogEntry, workDir: string, onProgress: ProgressFn, config: PyroConfig): Promise<StagedRootfs> {
  const rootfs = join(workDir, ENV_FILES.rootfs);
  onProgress(pullLine("build", entry.name, { source: "local", suite: entry.suite, packages: entry.packages.join(",") || "minbase" }));
  await buildRootfs(entry, rootfs, (line) => {
    // mmdebstrap's "I:" lines are its phases; everything else is apt chatter.
    if (line.startsWith("I: ")) onProgress(pullLine("build", entry.name, { detail: line.slice(3) }));
  }, config);
  await prepareRootfs(rootfs);
  const tree = await treeDigest(rootfs, new Set(await agentRelPaths(rootfs)));
  return { source: "local", reference: null, tree, oci: null };
}

/**
 * Pull `name` into the cache: under the environment's lock, return at once
 * when it is installed (another process may just have finished it), else
 * fetch it from the registry or build it locally in a temp dir and rename it
 * into place. Nothing half-done is ever visible as installed; a failure
 * removes the temp dir and throws a PyroError.
 */
export async function pullEnvironmentInto(name: string, options: PullOptions = {}): Promise<PullOutcome> {
  const config = pullConfig(options);
  const entry = catalogEntry(name);
  const cacheDir = options.cacheDir ?? config.cacheDir;
  const onProgress = options.onProgress ?? (() => undefined);
  const source = options.source ?? "auto";
  const registry = source === "local" ? null : configuredRegistry(options, config);
  const ref = catalogReference(entry.oci, registry);
  const explicitOci = source === "oci" || options.registryOverride !== undefined;
  if (source === "oci" && !ref) {
    throw new PyroError("failed_precondition", `no OCI registry is configured for ${name}`, {
      hint: "set PYRO_OCI_REGISTRY=HOST[:PORT] (or pass a registry), or pull without forcing the OCI source",
    });
  }
  const resolveLine = pullLine("resolve", name, { source: ref ? "oci" : "local", reference: ref ? formatReference(ref) : undefined });
  if (!options.force) {
    // Installed environments are complete by construction (manifest last, then rename): no lock needed to see one.
    const state = await cacheState(cacheDir, name);
    if (state.status === "installed") {
      if (!options.quietWhenInstalled) {
        onProgress(resolveLine);
        onProgress(pullLine("ready", name, { cached: true, source: state.manifest.source }));
      }
      return { manifest: state.manifest, pulled: false };
    }
  }
  onProgress(resolveLine);

  try {
    await mkdir(cacheDir, { recursive: true });
  } catch (error) {
    throw cacheWriteError(error, cacheDir);
  }
  const paths = environmentPaths(cacheDir, name);
  return withLock(
    paths.lock,
    async () => {
      const state = await cacheState(cacheDir, name);
      if (state.status === "installed" && !options.force) {
        onProgress(pullLine("ready", name, { cached: true, source: state.manifest.source }));
        return { manifest: state.manifest, pulled: false };
      }
      const agent = await loadAgentBinary(config);
      let workDir: string | undefined;
      try {
        workDir = await makeWorkDir(cacheDir, name);
        let staged: StagedRootfs | undefined;
        if (ref) {
          try {
            staged = await stageFromOci(ref, entry, workDir, onProgress, config);
          } catch (error) {
            if (!(error instanceof RegistryError) || !error.allowsFallback || explicitOci) throw error;
            onProgress(pullLine("resolve", name, { source: "local", fallback: error.message }));
            await rm(workDir, { recursive: true, force: true });
            workDir = await makeWorkDir(cacheDir, name);
          }
        }
        staged ??= await stageLocally(entry, workDir, onProgress, config);
        const manifest = await finishInstall(cacheDir, entry, workDir, staged, agent, onProgress);
        workDir = undefined;
        onProgress(pullLine("ready", name, { source: manifest.source, image_bytes: manifest.image.size_bytes }));
        return { manifest, pulled: true };
      } catch (error) {
        throw cacheWriteError(error, cacheDir);
      } finally {
        if (workDir) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      }
    },
    {
      timeoutMs: options.lockTimeoutMs ?? 30 * 60_000,
      onWait: (owner) => onProgress(pullLine("resolve", name, { waiting_for_pid: owner?.pid ?? "unknown" })),
    },
  ).catch((error: unknown) => {
    throw cacheWriteError(error, cacheDir);
  });
}
