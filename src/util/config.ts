import { availableParallelism, homedir } from "node:os";
import { join, resolve } from "node:path";
import { packageRoot } from "./paths.js";

/** One environment variable pyro reads: the row of README's configuration table. */
export interface ConfigVariable {
  name: `PYRO_${string}`;
  /** What values it takes (markdown). */
  type: string;
  /** What holds when it is unset (markdown). */
  default: string;
  /** What it changes (markdown). */
  meaning: string;
  /** A value that changes the resolved configuration (the test that every row is read uses it). */
  example: string;
}

/**
 * Every `PYRO_*` variable pyro reads, in README order. This module is the only
 * place that reads them: everything else receives a resolved {@link PyroConfig}.
 * README's configuration table is checked against this list (test/config).
 */
export const CONFIG_VARIABLES = [
  {
    name: "PYRO_STATE_DIR",
    type: "path",
    default: "`$XDG_STATE_HOME/pyro-mcp` (`~/.local/state/pyro-mcp`)",
    meaning: "VM and workspace records, machine directories, the KVM probe result; `stateDir` of `new Pyro()` wins over it",
    example: "/srv/pyro-state",
  },
  {
    name: "PYRO_ENVIRONMENT_CACHE_DIR",
    type: "path",
    default: "`$XDG_CACHE_HOME/pyro-mcp/environments` (`~/.cache/pyro-mcp/environments`)",
    meaning: "environment cache: root images, the guest kernel, boot snapshots; `cacheDir` of `new Pyro()` wins over it",
    example: "/srv/pyro-cache",
  },
  {
    name: "PYRO_BACKEND",
    type: "`firecracker` \\| `qemu` \\| `sandbox`",
    default: "the fastest that boots a guest here",
    meaning: "force a backend (also `--backend`)",
    example: "sandbox",
  },
  {
    name: "PYRO_MAX_ARCHIVE_BYTES",
    type: "integer > 0",
    default: "4294967296 (4 GiB)",
    meaning: "largest archive a workspace seed, sync, export, snapshot or reset moves",
    example: "1048576",
  },
  {
    name: "PYRO_AGENT_BIN",
    type: "path",
    default: "`agent/dist/pyro-agent` of the package",
    meaning: "static guest agent binary injected into environments and run by the sandbox",
    example: "/opt/pyro/pyro-agent",
  },
  {
    name: "PYRO_AGENT_VERSION",
    type: "string",
    default: "the package version",
    meaning: "agent version recorded in the manifests of environments it is injected into",
    example: "0.0.0-dev",
  },
  {
    name: "PYRO_QEMU_BIN",
    type: "path or name on `PATH`",
    default: "`qemu-system-x86_64` on `PATH`",
    meaning: "QEMU binary",
    example: "/opt/qemu/bin/qemu-system-x86_64",
  },
  {
    name: "PYRO_QEMU_IMG_BIN",
    type: "path or name on `PATH`",
    default: "`qemu-img` next to the QEMU binary, else on `PATH`",
    meaning: "`qemu-img` binary (overlay root disks)",
    example: "/opt/qemu/bin/qemu-img",
  },
  {
    name: "PYRO_QEMU_ACCEL",
    type: "`kvm` \\| `tcg`",
    default: "KVM when `/dev/kvm` boots a standard guest (probed once per host boot), else TCG",
    meaning: "force QEMU's accelerator",
    example: "tcg",
  },
  {
    name: "PYRO_QEMU_MACHINE",
    type: "`microvm` \\| `q35`",
    default: "`microvm`",
    meaning: "QEMU machine type",
    example: "q35",
  },
  {
    name: "PYRO_QEMU_SNAPSHOTS",
    type: "`0` \\| `1`",
    default: "on",
    meaning: "`0` turns off QEMU boot snapshots (the first VM of a shape saves its booted state in the environment cache, later ones resume it; see [docs/qemu.md](docs/qemu.md))",
    example: "0",
  },
  {
    name: "PYRO_POOL_SIZE",
    type: "integer ≥ 0",
    default: "1",
    meaning: "paused, restored machines kept ready per recently used machine shape (QEMU; `0` = no pool; see [docs/pool.md](docs/pool.md))",
    example: "0",
  },
  {
    name: "PYRO_POOL_IDLE_SECONDS",
    type: "integer > 0",
    default: "300",
    meaning: "how long a pooled machine waits for a taker before the reaper drops it",
    example: "30",
  },
  {
    name: "PYRO_BOOT_SLOTS",
    type: "integer ≥ 0",
    default: "the number of CPUs",
    meaning:
      "how many machines of one state dir may boot, restore or resume at once (VM backends); more wait for a slot (`phase=wait-boot-slot`) and their boot timeouts start when they get one (`0` = no limit; see [docs/architecture.md](docs/architecture.md#boot-slots))",
    example: "0",
  },
  {
    name: "PYRO_QEMU_EXTRA_CMDLINE",
    type: "words",
    default: "none",
    meaning: "extra guest kernel command-line words for QEMU guests (debugging)",
    example: "loglevel=7",
  },
  {
    name: "PYRO_FIRECRACKER_BIN",
    type: "path or name on `PATH`",
    default: "`firecracker` on `PATH`",
    meaning: "Firecracker binary (see [docs/firecracker.md](docs/firecracker.md))",
    example: "/opt/firecracker/firecracker",
  },
  {
    name: "PYRO_JAILER_BIN",
    type: "path or name on `PATH`",
    default: "`jailer` on `PATH`",
    meaning: "Firecracker's jailer (required when pyro runs as root)",
    example: "/opt/firecracker/jailer",
  },
  {
    name: "PYRO_JAILER_UID",
    type: "integer",
    default: "65534",
    meaning: "uid the jailer drops to",
    example: "1000",
  },
  {
    name: "PYRO_JAILER_GID",
    type: "integer",
    default: "65534",
    meaning: "gid the jailer drops to",
    example: "1000",
  },
  {
    name: "PYRO_OCI_REGISTRY",
    type: "`host[:port]` \\| `none`",
    default: "the catalog's registry (none yet: environments are built locally)",
    meaning: "registry to pull environments from (and `npm run env:push` pushes to); `none` builds locally",
    example: "127.0.0.1:5000",
  },
  {
    name: "PYRO_OCI_UPLOAD_CHUNK_SIZE_BYTES",
    type: "integer > 0",
    default: "16777216 (16 MiB)",
    meaning: "upload chunk size of `npm run env:push` (also `--chunk-size`)",
    example: "1048576",
  },
  {
    name: "PYRO_INSECURE_REGISTRIES",
    type: "`host[:port]` list (comma or space separated)",
    default: "none (loopback registries always use plain HTTP)",
    meaning: "image registries spoken to over plain HTTP instead of HTTPS",
    example: "registry.lan:5000",
  },
  {
    name: "PYRO_REGISTRY_AUTH",
    type: "`host=user:password` list (whitespace separated)",
    default: "none (credentials come from `~/.docker/config.json`)",
    meaning: "credentials for private image registries; wins over the docker config; never written to records or logs",
    example: "registry.lan:5000=ci:s3cret",
  },
  {
    name: "PYRO_DEBIAN_MIRROR",
    type: "URL",
    default: "mmdebstrap's (`deb.debian.org`)",
    meaning: "Debian mirror local environment builds use",
    example: "http://127.0.0.1:3142/debian",
  },
  {
    name: "PYRO_REAP_INTERVAL_SECONDS",
    type: "integer ≥ 0",
    default: "60",
    meaning: "how often `pyro mcp serve` deletes expired VMs and idle workspaces in the background (`0` = off)",
    example: "0",
  },
  {
    name: "PYRO_DEBUG",
    type: "any non-empty value",
    default: "off",
    meaning: "the CLI also prints the stack trace of an internal error",
    example: "1",
  },
] as const satisfies readonly ConfigVariable[];

/** The name of a variable of {@link CONFIG_VARIABLES}. */
export type ConfigVariableName = (typeof CONFIG_VARIABLES)[number]["name"];

/** Largest archive (seed, sync, export, snapshot) accepted by default: 4 GiB. */
export const DEFAULT_MAX_ARCHIVE_BYTES = 4 * 1024 * 1024 * 1024;

/** How often `pyro mcp serve` reaps by default, in seconds. */
export const DEFAULT_REAP_INTERVAL_SECONDS = 60;

/** Pooled machines per shape by default. */
export const DEFAULT_POOL_SIZE = 1;

/** How long a pooled machine waits for a taker by default, in seconds. */
export const DEFAULT_POOL_IDLE_SECONDS = 300;

/** The pool of restored, paused machines (core/pool). */
export interface PoolConfig {
  /** `PYRO_POOL_SIZE`: machines kept per recently used shape; 0 = off. */
  readonly size: number;
  /** `PYRO_POOL_IDLE_SECONDS` in ms: a pooled machine older than this is dropped. */
  readonly idleMs: number;
}

/** What the QEMU backend reads from the configuration. */
export interface QemuConfig {
  /** `PYRO_QEMU_BIN`: a path or a name on PATH; undefined looks up `qemu-system-x86_64`. */
  readonly bin: string | undefined;
  /** `PYRO_QEMU_IMG_BIN`, like `bin`. */
  readonly imgBin: string | undefined;
  /** `PYRO_QEMU_ACCEL`: a forced accelerator, or undefined to decide by probing. */
  readonly accel: "kvm" | "tcg" | undefined;
  readonly machine: "microvm" | "q35";
  readonly snapshots: boolean;
  readonly extraCmdline: readonly string[];
}

/** What the Firecracker backend reads from the configuration. */
export interface FirecrackerConfig {
  /** `PYRO_FIRECRACKER_BIN`: a path or a name on PATH; undefined looks up `firecracker`. */
  readonly bin: string | undefined;
  /** `PYRO_JAILER_BIN`, like `bin`. */
  readonly jailerBin: string | undefined;
  readonly jailerUid: number | undefined;
  readonly jailerGid: number | undefined;
}

/**
 * pyro's configuration, resolved once per `Pyro` from its options and the
 * environment (see {@link resolveConfig}) and handed down to core, the
 * environment cache and the backends, none of which read `PYRO_*` themselves.
 */
export interface PyroConfig {
  /**
   * The environment the configuration was resolved from: child processes
   * (QEMU, Firecracker, mmdebstrap) inherit it and binaries are looked up on
   * its PATH. Only non-pyro variables are read from it after resolution.
   */
  readonly env: NodeJS.ProcessEnv;
  /** Root of VM and workspace records (absolute). */
  readonly stateDir: string;
  /** Root of the environment cache (absolute). */
  readonly cacheDir: string;
  /** `PYRO_BACKEND` as written (core checks it names a backend when a machine is made). */
  readonly backend: string | undefined;
  readonly maxArchiveBytes: number;
  readonly agent: { readonly bin: string; readonly version: string | undefined };
  readonly qemu: QemuConfig;
  readonly pool: PoolConfig;
  /** `PYRO_BOOT_SLOTS`: machines that may boot at once per state dir (core/machines/boot-slots.ts); 0 = no limit. */
  readonly bootSlots: number;
  readonly firecracker: FirecrackerConfig;
  readonly oci: {
    /** The registry host; null when `none` (or empty); undefined when unset (the catalog default applies). */
    readonly registry: string | null | undefined;
    readonly uploadChunkSizeBytes: number | undefined;
    /** `PYRO_INSECURE_REGISTRIES`: registry hosts spoken to over plain HTTP. */
    readonly insecureRegistries: readonly string[];
    /** `PYRO_REGISTRY_AUTH` as written (a secret: never log it). */
    readonly registryAuth: string | undefined;
  };
  readonly debianMirror: string | undefined;
  /** The background reap interval of `pyro mcp serve` in ms, or null when it is off. */
  readonly reapIntervalMs: number | null;
  readonly debug: boolean;
}

/** Explicit values that win over the environment (the options of `new Pyro()`). */
export interface ConfigOverrides {
  stateDir?: string | undefined;
  cacheDir?: string | undefined;
}

/**
 * Resolve the configuration: each explicit override, else its `PYRO_*`
 * variable in `env`, else the default of {@link CONFIG_VARIABLES}. Reads no
 * files and creates nothing.
 */
export function resolveConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): PyroConfig {
  const read = (name: ConfigVariableName): string | undefined => {
    const value = env[name];
    return value === undefined || value === "" ? undefined : value;
  };
  // The defaults follow the environment given, HOME included, not just this process's.
  const home = env.HOME || homedir();
  const registry = env.PYRO_OCI_REGISTRY;
  return {
    env,
    stateDir: resolve(overrides.stateDir ?? read("PYRO_STATE_DIR") ?? join(env.XDG_STATE_HOME || join(home, ".local", "state"), "pyro-mcp")),
    cacheDir: resolve(
      overrides.cacheDir ?? read("PYRO_ENVIRONMENT_CACHE_DIR") ?? join(env.XDG_CACHE_HOME || join(home, ".cache"), "pyro-mcp", "environments"),
    ),
    backend: read("PYRO_BACKEND")?.trim() || undefined,
    maxArchiveBytes: positiveInteger(read("PYRO_MAX_ARCHIVE_BYTES")) ?? DEFAULT_MAX_ARCHIVE_BYTES,
    agent: {
      bin: read("PYRO_AGENT_BIN") ?? join(packageRoot(), "agent", "dist", "pyro-agent"),
      version: read("PYRO_AGENT_VERSION"),
    },
    qemu: {
      bin: read("PYRO_QEMU_BIN"),
      imgBin: read("PYRO_QEMU_IMG_BIN"),
      accel: oneOf(read("PYRO_QEMU_ACCEL"), ["kvm", "tcg"] as const),
      machine: read("PYRO_QEMU_MACHINE") === "q35" ? "q35" : "microvm",
      snapshots: read("PYRO_QEMU_SNAPSHOTS") !== "0",
      extraCmdline: (read("PYRO_QEMU_EXTRA_CMDLINE") ?? "").split(/\s+/).filter(Boolean),
    },
    pool: {
      size: naturalNumber(read("PYRO_POOL_SIZE")?.trim()) ?? DEFAULT_POOL_SIZE,
      idleMs: (positiveInteger(read("PYRO_POOL_IDLE_SECONDS")) ?? DEFAULT_POOL_IDLE_SECONDS) * 1000,
    },
    bootSlots: naturalNumber(read("PYRO_BOOT_SLOTS")?.trim()) ?? defaultBootSlots(),
    firecracker: {
      bin: read("PYRO_FIRECRACKER_BIN"),
      jailerBin: read("PYRO_JAILER_BIN"),
      jailerUid: naturalNumber(read("PYRO_JAILER_UID")),
      jailerGid: naturalNumber(read("PYRO_JAILER_GID")),
    },
    oci: {
      registry: registry === undefined ? undefined : registry === "" || registry === "none" ? null : registry,
      uploadChunkSizeBytes: positiveInteger(read("PYRO_OCI_UPLOAD_CHUNK_SIZE_BYTES")),
      insecureRegistries: (read("PYRO_INSECURE_REGISTRIES") ?? "").split(/[\s,]+/).filter(Boolean),
      registryAuth: read("PYRO_REGISTRY_AUTH"),
    },
    debianMirror: read("PYRO_DEBIAN_MIRROR"),
    reapIntervalMs: reapInterval(read("PYRO_REAP_INTERVAL_SECONDS")),
    debug: read("PYRO_DEBUG") !== undefined,
  };
}

// A booting guest under software emulation keeps one host CPU busy: more boots than CPUs only slow each other down.
function defaultBootSlots(): number {
  return Math.max(1, availableParallelism());
}

function positiveInteger(raw: string | undefined): number | undefined {
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function naturalNumber(raw: string | undefined): number | undefined {
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

function oneOf<T extends string>(raw: string | undefined, values: readonly T[]): T | undefined {
  return values.find((v) => v === raw);
}

// Unset or blank: the default; not a number or negative: the default too (a typo must not turn reaping off).
function reapInterval(raw: string | undefined): number | null {
  const seconds = raw === undefined || raw.trim() === "" ? DEFAULT_REAP_INTERVAL_SECONDS : Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) return DEFAULT_REAP_INTERVAL_SECONDS * 1000;
  return seconds === 0 ? null : Math.max(1, seconds) * 1000;
}
