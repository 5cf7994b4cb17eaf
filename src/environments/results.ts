import { CATALOG_VERSION } from "./catalog.js";
import type { SnapshotSummary } from "./snapshots.js";
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

/**
 * Result of `env inspect` (and the body of `env pull`'s result). Field names
 * follow the contract's `installedDetails` schema (src/contract), with extras.
 */
export interface EnvironmentDetails extends EnvironmentSummary {
  catalog_version: string;
  suite: string;
  packages: string[];
  /** Why the entry is broken, when it is. */
  problem: string | null;
  source: "local" | "oci" | "image" | null;
  /** OCI reference it was pulled from (null for local builds). */
  reference: string | null;
  /** The environment's cache directory, when installed. */
  path: string | null;
  /** Bytes on disk: rootfs tree plus the (sparse) ext4 image. */
  size_bytes: number | null;
  created_at: string | null;
  /** `rootfs_tree`, `root_image`, `agent`, and for OCI pulls `oci_manifest`, `oci_config`, `oci_layer`. */
  digests: Record<string, string>;
  agent_version: string | null;
  paths: { dir: string; manifest: string; rootfs_dir: string; root_image: string };
  sizes: { rootfs_bytes: number | null; root_image_bytes: number | null; root_image_disk_bytes: number | null; oci_layer_bytes: number | null };
  agent_paths: string[];
  kernel: { release: string; vmlinuz: string; initramfs: string; vmlinux: string | null } | null;
  /** Saved booted machines of this environment, one per machine shape (see docs/qemu.md). */
  boot_snapshots: SnapshotSummary[];
  /** For an OCI image reference: what was pulled (null when not pulled; absent for catalog environments). */
  image?: ImageDetails | null;
}

/** `env inspect`'s account of a pulled OCI image. */
export interface ImageDetails {
  reference: string;
  /** `registry/repository@sha256:…`: what records of machines made from it name. */
  pinned: string;
  digest: string;
  platform: string;
  layers: Array<{ digest: string; size_bytes: number; media_type: string }>;
  /** Bytes of its files, unpacked. */
  size_bytes: number;
  file_count: number;
  pulled_at: string;
  env: string[];
  working_dir: string | null;
  user: string | null;
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
  kind: "environment" | "temp" | "lock" | "snapshot" | "image";
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
export function detail(entry: CatalogEntry, state: CacheState, kernel: KernelArtifacts | undefined, bootSnapshots: SnapshotSummary[] = []): EnvironmentDetails {
  const manifest = state.status === "installed" ? state.manifest : null;
  const digests: Record<string, string> = {};
  if (manifest) {
    digests.rootfs_tree = manifest.rootfs.tree_digest;
    digests.root_image = manifest.image.sha256;
    digests.agent = manifest.agent.sha256;
    if (manifest.oci) {
      digests.oci_manifest = manifest.oci.manifest_digest;
      digests.oci_config = manifest.oci.config_digest;
      digests.oci_layer = manifest.oci.layer_digest;
    }
  }
  return {
    ...summarize(entry, state),
    catalog_version: CATALOG_VERSION,
    suite: entry.suite,
    packages: [...entry.packages],
    problem: state.status === "broken" ? state.reason : null,
    source: manifest?.source ?? null,
    reference: manifest?.reference ?? null,
    path: manifest ? state.paths.dir : null,
    size_bytes: manifest ? manifest.rootfs.size_bytes + manifest.image.disk_bytes : null,
    created_at: manifest?.created ?? null,
    digests,
    agent_version: manifest?.agent.version ?? null,
    paths: { dir: state.paths.dir, manifest: state.paths.manifest, rootfs_dir: state.paths.rootfs, root_image: state.paths.image },
    sizes: {
      rootfs_bytes: manifest?.rootfs.size_bytes ?? null,
      root_image_bytes: manifest?.image.size_bytes ?? null,
      root_image_disk_bytes: manifest?.image.disk_bytes ?? null,
      oci_layer_bytes: manifest?.oci?.layer_size_bytes ?? null,
    },
    agent_paths: manifest?.agent.paths ?? [],
    kernel: kernel ? { release: kernel.release, vmlinuz: kernel.vmlinuz, initramfs: kernel.initramfs, vmlinux: kernel.vmlinux ?? null } : null,
    boot_snapshots: manifest ? bootSnapshots : [],
  };
}
