/** One entry of the environment catalog. */
export interface CatalogEntry {
  /** Stable public name, e.g. `debian:12`. */
  name: string;
  description: string;
  /** Debian suite the rootfs is built from. */
  suite: string;
  /** Extra Debian packages on top of the minbase variant. */
  packages: string[];
  /** Optional OCI reference (`host/repo:tag`) to pull a prebuilt artifact from. */
  oci?: string;
}

/** Paths of the guest kernel artifacts shared by every environment. */
export interface KernelArtifacts {
  /** Debian kernel release, e.g. `6.1.0-28-cloud-amd64`. */
  release: string;
  /** bzImage for QEMU. */
  vmlinuz: string;
  /** Initramfs (busybox + virtio/vsock modules, then switch_root). */
  initramfs: string;
  /** Uncompressed ELF vmlinux for Firecracker, when extracted. */
  vmlinux?: string;
}

/** A fully installed environment in the cache. */
export interface InstalledEnvironment {
  name: string;
  /** The environment cache it is installed in (boot snapshots are kept there too); absent for placeholders. */
  cacheDir?: string;
  /** The cache directory of this environment. */
  dir: string;
  /** Root filesystem directory (sandbox backend; read-only lower layer). */
  rootfsDir: string;
  /** Raw ext4 image of the same rootfs, agent and init injected (VM backends). */
  rootImage: string;
  kernel?: KernelArtifacts;
  /** For an OCI image: what its config says processes run with (absent for catalog environments). */
  image?: ImageRuntimeConfig;
}

/** The runtime part of an OCI image's config, applied to the commands, shells and services of its machines. */
export interface ImageRuntimeConfig {
  /** The reference as pulled (canonical text). */
  reference: string;
  /** Manifest digest. */
  digest: string;
  /** `Env` as `NAME=value`. */
  env: string[];
  /** `WorkingDir`: where a one-shot run starts; null when unset. */
  working_dir: string | null;
  /** `User`, as written in the config; null when unset. */
  user: string | null;
  /** `User` resolved in the image (uid, gid, groups, home); null or absent: root. */
  run_as?: { uid: number; gid: number; groups: number[]; home: string } | null;
}
