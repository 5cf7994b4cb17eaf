import { CATALOG_VERSION } from "./catalog.js";
import type { CacheState } from "./status.js";
import type { CatalogEntry, KernelArtifacts } from "./types.js";

/** One line of `env list`. */
export interface EnvironmentSummary {
  name: string;
  description: string;
  installed: boolean;
  /** `installed`, `not_installed`, or `broken` (prune removes it). */
  status: CacheState["status"];
}

/** Result of `env list`. */
export interface EnvironmentList {
  catalog_version: string;
  cache_dir: string;
  environments: EnvironmentSummary[];
}

/** Result of `env inspect` (and the body of `env pull`'s result). */
export interface EnvironmentDetails extends EnvironmentSummary {
  catalog_version: string;
  suite: string;
  packages: string[];
  /** Why the entry is broken, when it is. */
  problem: string | null;
  source: "local" | "oci" | null;
  reference: string | null;
  created: string | null;
  paths: { dir: string; manifest: string; rootfs_dir: string; root_image: string };
  digests: {
    rootfs_tree: string | null;
    root_image: string | null;
    oci_manifest: string | null;
    oci_config: string | null;
    oci_layer: string | null;
    agent: string | null;
  };
  size_bytes: { rootfs: number | null; root_image: number | null; root_image_on_disk: number | null; oci_layer: number | null };
  agent: { version: string; paths: string[] } | null;
  kernel: { release: string; vmlinuz: string; initramfs: string; vmlinux: string | null } | null;
}

/** Result of `env pull`. */
export interface PullResult extends EnvironmentDetails {
  /** False when it was already installed and nothing was downloaded or built. */
  pulled: boolean;
  duration_ms: number;
}

/** One removal of `env prune`. */
export interface PrunedEntry {
  path: string;
  kind: "environment" | "temp" | "lock";
  reason: string;
  bytes: number;
}

/** Result of `env prune`. */
export interface PruneResult {
  cache_dir: string;
  removed: PrunedEntry[];
  freed_bytes: number;
}

/** The list line of `entry` in `state`. */
export function summarize(entry: CatalogEntry, state: CacheState): EnvironmentSummary {
  return { name: entry.name, description: entry.description, installed: state.status === "installed", status: state.status };
}

/** Full details of `entry` in `state` (nulls where not installed). */
export function detail(entry: CatalogEntry, state: CacheState, kernel: KernelArtifacts | undefined): EnvironmentDetails {
  const manifest = state.status === "installed" ? state.manifest : null;
  return {
    ...summarize(entry, state),
    catalog_version: CATALOG_VERSION,
    suite: entry.suite,
    packages: [...entry.packages],
    problem: state.status === "broken" ? state.reason : null,
    source: manifest?.source ?? null,
    reference: manifest?.reference ?? null,
    created: manifest?.created ?? null,
    paths: { dir: state.paths.dir, manifest: state.paths.manifest, rootfs_dir: state.paths.rootfs, root_image: state.paths.image },
    digests: {
      rootfs_tree: manifest?.rootfs.tree_digest ?? null,
      root_image: manifest?.image.sha256 ?? null,
      oci_manifest: manifest?.oci?.manifest_digest ?? null,
      oci_config: manifest?.oci?.config_digest ?? null,
      oci_layer: manifest?.oci?.layer_digest ?? null,
      agent: manifest?.agent.sha256 ?? null,
    },
    size_bytes: {
      rootfs: manifest?.rootfs.size_bytes ?? null,
      root_image: manifest?.image.size_bytes ?? null,
      root_image_on_disk: manifest?.image.disk_bytes ?? null,
      oci_layer: manifest?.oci?.layer_size_bytes ?? null,
    },
    agent: manifest ? { version: manifest.agent.version, paths: manifest.agent.paths } : null,
    kernel: kernel ? { release: kernel.release, vmlinuz: kernel.vmlinuz, initramfs: kernel.initramfs, vmlinux: kernel.vmlinux ?? null } : null,
  };
}
