import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import type { Duplex } from "node:stream";
import type { AgentClient } from "../../agent-client/index.js";
import { discardSnapshot, findSnapshot, type BootSnapshot } from "../../environments/snapshots.js";
import type { PyroConfig } from "../../util/config.js";
import { PyroError, toPyroError } from "../../util/errors.js";
import { isProcessAlive, sleep, spawnDetached } from "../../util/process.js";
import type { MachineHandle, MachineSpec, ParkedState, Parking, StartOptions } from "../backend.js";
import { FirecrackerApiClient } from "./api-client.js";
import { vmLayout, type VmLayout } from "./layout.js";
import { firecrackerSnapshotKey, loadParked } from "./snapshot.js";
import { ensureRootDisk } from "./disk.js";
import { handOutParked } from "../parked-ready.js";

/** What parking needs of the Firecracker backend it belongs to. */
export interface FirecrackerParkingHost {
  readonly config: PyroConfig;
  /** The firecracker binary, or undefined when there is none. */
  binary(): string | undefined;
  /** The guest vsock port of the agent. */
  readonly agentPort: number;
  connect(spec: MachineSpec, handle: MachineHandle): Promise<Duplex>;
  kill(handle: MachineHandle): Promise<void>;
}

/** A machine that can be parked: its binary and the boot snapshot it restores. */
interface ParkPlan {
  firecracker: string;
  snapshot: BootSnapshot;
  key: string;
}

/** Client name in the activating hello. */
const CLIENT = "pyro-mcp/firecracker-unpark";
/** How long a fresh Firecracker process may take to open its API socket. */
const API_READY_MS = 5000;

/**
 * Firecracker's parking (runtime/backend.ts `Parking`), to its snapshot API:
 * `park` starts a Firecracker process in the machine's directory with a
 * private copy of the root image and restores the shape's boot snapshot
 * paused (`PUT /snapshot/load`, `resume_vm: false`: vCPUs stopped, the memory
 * file mapped); `unpark` lets it run (`PATCH /vm` Resumed) and activates it
 * like qemu's (hostname, clock, entropy, root made writable). Unjailed VMMs
 * only: a jailed one would need the snapshot's files in its chroot. Only
 * machines without network are parked, as on qemu.
 */
export class FirecrackerParking implements Parking {
  constructor(private readonly host: FirecrackerParkingHost) {}

  async parkKey(spec: MachineSpec): Promise<string | null> {
    return this.plan(spec)?.key ?? null;
  }

  async park(spec: MachineSpec): Promise<MachineHandle> {
    const plan = this.plan(spec);
    if (!plan) throw new PyroError("failed_precondition", `machine ${spec.id} cannot be parked (no boot snapshot of its shape, or a shape the pool does not hold)`);
    const layout = vmLayout(spec.dir, spec.id);
    await mkdir(spec.dir, { recursive: true, mode: 0o700 });
    await ensureRootDisk(spec.environment.rootImage, layout.rootDisk);
    for (const path of [layout.logFile, layout.metricsFile]) await writeFile(path, "", { mode: 0o600 });
    await rm(layout.apiSocket, { force: true });
    await rm(layout.vsockSocket, { force: true });
    // The working directory is the machine's: the snapshot's disk and vsock paths are relative to it (snapshot.ts).
    const proc = await spawnDetached(plan.firecracker, ["--api-sock", layout.apiSocket, "--id", spec.id], {
      stdoutPath: layout.consoleFile,
      stderrPath: layout.stderrFile,
      env: this.host.config.env,
      cwd: spec.dir,
      hint: "check that the binary exists and is executable (PYRO_FIRECRACKER_BIN)",
    });
    const handle: MachineHandle = { backend: "firecracker", pid: proc.pid, ...(proc.startTime ? { pidStartTime: proc.startTime } : {}), ...handlePaths(layout) };
    try {
      const client = new FirecrackerApiClient(layout.apiSocket);
      await waitForApi(client, handle, Date.now() + API_READY_MS);
      await client.putLogger({ log_path: layout.logFile, level: "Info", show_level: true, show_log_origin: false });
      await client.putMetrics({ metrics_path: layout.metricsFile });
      await loadParked(client, plan.snapshot.dir);
    } catch (error) {
      await this.host.kill(handle);
      const pyroError = toPyroError(error);
      // A snapshot Firecracker refuses would fail every machine of the shape: drop it (the next boot saves a new one).
      if (pyroError.details?.snapshot === plan.snapshot.dir && spec.environment.cacheDir) await discardSnapshot(spec.environment.cacheDir, plan.key);
      throw pyroError;
    }
    return handle;
  }

  async parkedState(handle: MachineHandle, dir: string): Promise<ParkedState> {
    if (!isProcessAlive(handle.pid, handle.pidStartTime)) return "failed";
    const { apiSocket } = vmLayout(dir, "parked");
    if (!existsSync(apiSocket)) return "restoring";
    try {
      const info = await new FirecrackerApiClient(apiSocket, { timeoutMs: 2000 }).describeInstance();
      if (info.state === "Paused") return "ready";
      return info.state === "Not started" ? "restoring" : "failed";
    } catch {
      return isProcessAlive(handle.pid, handle.pidStartTime) ? "restoring" : "failed";
    }
  }

  async unpark(spec: MachineSpec, parked: MachineHandle, options: StartOptions): Promise<{ handle: MachineHandle; session: AgentClient }> {
    const handle: MachineHandle = { ...parked, ...handlePaths(vmLayout(spec.dir, spec.id)) };
    return handOutParked(this, spec, handle, options, {
      resume: () => new FirecrackerApiClient(handle.api_socket as string).resume(),
      connect: () => this.host.connect(spec, handle),
      helloTimeoutMs: 10_000,
      clientName: CLIENT,
      kill: () => this.host.kill(handle),
    });
  }

  /** How `spec` would be parked, or null when it cannot be (see {@link Parking.parkKey}). Stats only. */
  private plan(spec: MachineSpec): ParkPlan | null {
    if (spec.network !== "off" || spec.publishedPorts.length > 0) return null;
    const firecracker = this.host.binary();
    const kernel = spec.environment.kernel;
    const cacheDir = spec.environment.cacheDir;
    if (!firecracker || !kernel?.vmlinux || !cacheDir || !existsSync(kernel.vmlinux)) return null;
    // A disk that was written no longer fits the boot state's page cache.
    if (existsSync(vmLayout(spec.dir, spec.id).rootDisk)) return null;
    let key: string;
    try {
      key = firecrackerSnapshotKey(spec, firecracker, { kernel: kernel.vmlinux, ...(kernel.initramfs ? { initrd: kernel.initramfs } : {}) }, this.host.agentPort).key;
    } catch {
      return null;
    }
    const snapshot = findSnapshot(cacheDir, key);
    return snapshot ? { firecracker, snapshot, key } : null;
  }
}

/** The per-directory paths of an unjailed Firecracker handle. */
function handlePaths(layout: VmLayout) {
  return {
    api_socket: layout.apiSocket,
    vsock_socket: layout.vsockSocket,
    root_disk: layout.rootDisk,
    console_log: layout.consoleFile,
    log_path: layout.logFile,
    jailed: false,
  };
}

/** Wait until a fresh Firecracker answers `GET /`. */
async function waitForApi(client: FirecrackerApiClient, handle: MachineHandle, until: number): Promise<void> {
  for (;;) {
    try {
      await client.describeInstance();
      return;
    } catch (error) {
      if (!isProcessAlive(handle.pid, handle.pidStartTime)) {
        throw new PyroError("guest_failure", `firecracker exited before its API came up (pid ${handle.pid})`, {
          hint: "read firecracker.stderr.log in the pool's machine directory: a bad binary or flag",
          cause: error,
        });
      }
      if (Date.now() >= until) throw new PyroError("timeout", `firecracker's API socket ${client.socketPath} did not come up`, { hint: "the host may be overloaded; pyro boots a machine instead" });
    }
    await sleep(10);
  }
}
