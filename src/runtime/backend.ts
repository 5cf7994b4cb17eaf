import type { Duplex } from "node:stream";
import type { AgentClient } from "../agent-client/index.js";
import type { InstalledEnvironment } from "../environments/types.js";
import type { AllowList } from "../net/index.js";
import type { StartGate } from "../util/start-gate.js";
import type { BackendName, CpuEnforcement, ExecutionMode, MemoryEnforcement, NetworkPolicy } from "../util/vocabulary.js";

// One vocabulary (util/vocabulary.ts): re-exported so backends keep importing their words from here.
export type { BackendName, ExecutionMode, NetworkPolicy };

/** What a backend can do; core code asks for these, never for a backend's name. */
export interface BackendCapabilities {
  /** Boots a real guest kernel (not host compat). */
  vm_boot: boolean;
  guest_exec: boolean;
  /** Can give a guest a network policy other than `off` (see NETWORK_POLICIES). */
  guest_network: boolean;
  /** Its writable root is a raw ext4 disk that debugfs can read offline. */
  disk_tools: boolean;
  vsock: boolean;
  execution_mode: ExecutionMode;
  /**
   * Starts cheaply, can tie a machine to the calling process
   * ({@link StartOptions.tiedToCaller}), and its machine directory may be
   * renamed while it runs: core keeps a warm spare for one-shot runs.
   * Absent: no.
   */
  warm_spares?: boolean;
}

/** Whether a backend can run on this host, and if not, why and how to fix it. */
export interface BackendAvailability {
  usable: boolean;
  /** Why it is not usable (absent when usable). */
  reason?: string;
  /** What the user can do about it. */
  fix?: string;
  /** Facts `doctor` prints, e.g. `{ binary: "/usr/bin/qemu-system-x86_64", accel: "tcg" }`. */
  details: Record<string, string | boolean | number>;
}

/** A host port forwarded to a guest port, bound on 127.0.0.1 only. */
export interface PublishedPort {
  host_port: number;
  guest_port: number;
}

/** Everything a backend needs to boot one machine. */
export interface MachineSpec {
  /** VM or workspace id; unique among live machines. */
  id: string;
  /** A directory owned by this machine (0700); the backend keeps all its files here. */
  dir: string;
  environment: InstalledEnvironment;
  vcpuCount: number;
  memMib: number;
  network: NetworkPolicy;
  /** Allow-lists on top of an `egress` policy (src/net/allow.ts); absent or empty: none. */
  allow?: AllowList;
  publishedPorts: PublishedPort[];
  /** Hostname inside the guest. */
  hostname: string;
  /**
   * `raw`: the machine keeps a private raw ext4 root disk that survives stop and
   * start and that offline disk tools can read (workspaces). `overlay` (default):
   * whatever writable layer is cheapest (one-shot VMs).
   */
  rootDisk?: "overlay" | "raw";
}

/**
 * How a machine is held to its resources, as results report it
 * (`limits_enforced`): never claim a limit that nothing enforces.
 */
export interface EnforcedLimits {
  /** `vm`: the guest's own memory; `cgroup`: a memory cgroup; `none`: not enforced. */
  mem_mib: MemoryEnforcement;
  /** `vm`: the guest's vCPUs; `cgroup`: a CPU quota; `affinity`: pinned CPUs only (the guest may widen them); `none`. */
  vcpu_count: CpuEnforcement;
  /** Most processes the machine may run, or null when no process limit applies. */
  pids_max: number | null;
}

/**
 * What a backend persists about a started machine so that a later process can
 * reconnect, check or kill it. Stored verbatim in the VM/workspace record.
 */
export interface MachineHandle {
  backend: BackendName;
  /** PID of the detached VMM / sandbox process on the host. */
  pid: number;
  /** Start time of that process (from /proc/PID/stat) to guard against PID reuse. */
  pidStartTime?: string;
  /** The guest's own network address, when it has a network device with one. */
  guest_ip?: string;
  /** How its limits are enforced, when the backend decides it per machine (the sandbox); VMs leave it out. */
  limits?: EnforcedLimits;
  /** Backend-specific, JSON-serialisable fields (socket paths, ports…). */
  [key: string]: unknown;
}

/** Options of {@link Backend.start}. */
export interface StartOptions {
  /** Deadline for the agent to answer its first hello. */
  bootTimeoutMs: number;
  /** Progress lines (`phase=…`) for long boots. */
  onProgress?: (message: string) => void;
  /** The machine dies when the calling process exits (backends with `warm_spares`; others ignore it). */
  tiedToCaller?: boolean;
  /**
   * Resume the memory and device state {@link Backend.suspend} saved in the
   * machine directory instead of booting (backends with `suspend` only).
   * Without it, a saved state left there is discarded: the start is cold.
   */
  resume?: boolean;
}

/** What {@link Backend.suspend} saved. */
export interface SuspendedState {
  /** Size of the memory and device state file. */
  bytes: number;
  /** The file, next to the machine's disk. */
  path: string;
}

/**
 * Where a parked machine is: held back at its maker's gate (its restore has
 * not begun: not worth waiting for, see ParkOptions), still restoring, ready
 * to be handed out, or gone.
 */
export type ParkedState = "held" | "restoring" | "ready" | "failed";

/** Options of {@link Parking.park}. */
export interface ParkOptions {
  /** Hold the costly part of the park back until this opens. */
  gate?: StartGate;
}

/**
 * Machines restored from their shape's boot state and held paused (vCPUs
 * stopped: memory, no CPU), not yet given an identity, for the pool of
 * core/pool. A parked machine's directory may be renamed once it is ready.
 */
export interface Parking {
  /**
   * What a parked machine must match to stand in for `spec` (its whole shape:
   * environment, kernel, VMM, vCPUs, memory, network, disk kind), or null when
   * `spec` can neither take nor fill a pool (no boot state saved yet, a disk
   * already written, published ports, a network the pool does not park). Cheap.
   */
  parkKey(spec: MachineSpec): Promise<string | null>;
  /**
   * Start a parked machine for `spec` in `spec.dir`; resolves as soon as its
   * process runs: the restore goes on detached, so the caller may exit. With
   * `options.gate`, the detached restore (and anything else costly it
   * starts) waits until the gate opens (util/start-gate.ts); a parking whose
   * restore is cheap enough to run at once may ignore it.
   */
  park(spec: MachineSpec, options?: ParkOptions): Promise<MachineHandle>;
  /** Whether a parked machine finished restoring (ready), is still at it, or died. */
  parkedState(handle: MachineHandle, dir: string): Promise<ParkedState>;
  /**
   * Hand a parked machine out: its directory was moved to `spec.dir`; let it
   * run and give it `spec`'s identity (hostname, clock, entropy, writable
   * root). Returns the handle with the new directory's paths, and the agent
   * session that activated it, still open, for the caller's first request.
   */
  unpark(spec: MachineSpec, handle: MachineHandle, options: StartOptions): Promise<{ handle: MachineHandle; session: AgentClient }>;
}

/**
 * One machine engine. Backends boot detached processes that outlive the caller,
 * and hand back byte streams to the guest agent; they know nothing about
 * workspaces or records.
 */
export interface Backend {
  readonly name: BackendName;
  readonly capabilities: BackendCapabilities;
  /** Whether this backend can run here, with reasons. Cheap; no boot. */
  availability(): Promise<BackendAvailability>;
  /**
   * Boot the machine detached and return once its agent is reachable (the
   * caller still performs the protocol hello). Throws a PyroError on failure,
   * with whatever console output explains it.
   */
  start(spec: MachineSpec, options: StartOptions): Promise<MachineHandle>;
  /** Open a new byte stream to the agent of a running machine. */
  connect(spec: MachineSpec, handle: MachineHandle): Promise<Duplex>;
  /**
   * How long a connect plus hello with this running machine's agent may take
   * before the agent counts as wedged: longer where the guest is emulated in
   * software and shares the host's CPUs with many others. Absent: 10 s.
   */
  helloTimeoutMs?(handle: MachineHandle): number;
  /** Whether the machine's host process is still alive. */
  isRunning(handle: MachineHandle): boolean;
  /**
   * Wait for the machine to exit after the agent was asked to power off; kill it
   * after `graceMs`. Idempotent.
   */
  stop(spec: MachineSpec, handle: MachineHandle, graceMs: number): Promise<void>;
  /**
   * Forward each `127.0.0.1:host_port` on the host to `guest_port` in a running
   * machine. Only backends that can publish ports have it.
   */
  publishPorts?(spec: MachineSpec, handle: MachineHandle, ports: PublishedPort[]): Promise<void>;
  /** Kill the machine's host processes at once. Idempotent. */
  kill(handle: MachineHandle): Promise<void>;
  /** Remove the machine's backend files after it stopped (sockets, writable layers). */
  cleanup(spec: MachineSpec): Promise<void>;
  /**
   * The raw ext4 root disk of a machine (backends with `disk_tools` only), for
   * offline inspection while it is stopped; null when it has none yet.
   */
  rootDiskImage?(spec: MachineSpec): string | null;
  /**
   * Save a running machine's memory and device state next to its disk, then
   * end its process (`workspace pause`); {@link StartOptions.resume} brings it
   * back. When saving fails the machine keeps running and this throws.
   * Absent where the engine cannot.
   */
  suspend?(spec: MachineSpec, handle: MachineHandle): Promise<SuspendedState>;
  /**
   * Copy a running machine, memory and disk, into `targetDir` as a suspended
   * machine there (start it with {@link StartOptions.resume}); the source is
   * stopped only while it is copied, then runs on. Absent where the engine cannot.
   */
  fork?(spec: MachineSpec, handle: MachineHandle, targetDir: string): Promise<SuspendedState>;
  /** Restored, paused machines for the pool (core/pool); absent where the engine cannot. */
  readonly parking?: Parking;
}
