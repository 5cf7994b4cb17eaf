import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentClient } from "../../agent-client/index.js";
import { findSnapshot, type BootSnapshot } from "../../environments/snapshots.js";
import type { KernelArtifacts } from "../../environments/types.js";
import type { PyroConfig } from "../../util/config.js";
import { PyroError } from "../../util/errors.js";
import { isProcessAlive, spawnDetached } from "../../util/process.js";
import { shellQuote } from "../../util/shell.js";
import { GATE_WAIT, type StartGate } from "../../util/start-gate.js";
import type { MachineHandle, MachineSpec, ParkedState, ParkOptions, Parking, StartOptions } from "../backend.js";
import { buildQemuArgs, type QemuArgsInput } from "./args.js";
import { findQemu, findQemuImg } from "./host.js";
import { checkSocketPaths, qemuLayout } from "./layout.js";
import { qmpCommand } from "./qmp.js";
import { snapshotKey, VMSTATE_FILE, type SnapshotShape } from "./snapshot.js";
import { isWarm, WARM_MARKER } from "./warm.js";
import { packageRoot } from "../../util/paths.js";
import { handOutParked } from "../parked-ready.js";

/** What parking needs of the QEMU backend it belongs to. */
export interface ParkingHost {
  readonly config: PyroConfig;
  snapshotsEnabled(): boolean;
  shapeOf(spec: MachineSpec, qemu: string, kernel: KernelArtifacts): Promise<SnapshotShape>;
  connect(spec: MachineSpec, handle: MachineHandle): Promise<import("node:stream").Duplex>;
  helloTimeoutMs(handle: MachineHandle): number;
  kill(handle: MachineHandle): Promise<void>;
}

/** A machine that can be parked: its binary, shape, disk kind and the boot state it resumes. */
interface ParkPlan {
  qemu: string;
  shape: SnapshotShape;
  mode: "raw" | "overlay";
  snapshot: BootSnapshot;
  key: string;
}

/** The file a gated park's shell makes in the machine's directory once its gate opened. */
const GATE_OPENED = "gate-opened";

/** Client name in the activating hello. */
const CLIENT = "pyro-mcp/qemu-unpark";

/**
 * QEMU's parking (runtime/backend.ts `Parking`): a machine restored from its
 * shape's boot snapshot with `-incoming … -S`, so it loads the state and stays
 * paused (vCPUs stopped: it costs its memory, no CPU) until `cont`. Its disk
 * is made and QEMU started by one detached shell, so the process that parks
 * a machine need not wait for any of it. Only machines without network are
 * parked: a networked one needs its namespace's user-mode stack attached by
 * the starting process, and the stack's files are named after its directory.
 */
export class QemuParking implements Parking {
  constructor(private readonly host: ParkingHost) {}

  async parkKey(spec: MachineSpec): Promise<string | null> {
    return (await this.plan(spec))?.key ?? null;
  }

  async park(spec: MachineSpec, options: ParkOptions = {}): Promise<MachineHandle> {
    const plan = await this.plan(spec);
    if (!plan) throw new PyroError("failed_precondition", `machine ${spec.id} cannot be parked (no boot snapshot of its shape, or a shape the pool does not hold)`);
    const layout = qemuLayout(spec.dir);
    checkSocketPaths(layout);
    await mkdir(spec.dir, { recursive: true, mode: 0o700 });
    await writeFile(layout.consoleLog, "", { mode: 0o600 });
    const rootDisk = plan.mode === "raw" ? layout.rawDisk : layout.overlayDisk;
    const input: QemuArgsInput = {
      ...plan.shape,
      layout,
      rootDisk,
      rootFormat: plan.mode === "raw" ? "raw" : "qcow2",
      publishedPorts: [],
      incomingState: join(plan.snapshot.dir, VMSTATE_FILE),
      paused: true,
    };
    const image = spec.environment.rootImage;
    let makeDisk: string;
    if (plan.mode === "raw") {
      makeDisk = `cp --reflink=auto --sparse=always -- ${shellQuote(image)} ${shellQuote(rootDisk)}`;
    } else {
      const qemuImg = findQemuImg(plan.qemu, this.host.config);
      if (!qemuImg) throw new PyroError("unavailable", "qemu-img is not installed", { hint: "install qemu-utils (Debian: apt-get install qemu-utils)" });
      makeDisk = `${shellQuote(qemuImg)} create -q -f qcow2 -F raw -b ${shellQuote(image)} ${shellQuote(rootDisk)}`;
    }
    // One detached shell makes the disk and becomes QEMU (exec keeps its pid and start time), so the handle is known at once.
    // Gated, it first waits for the gate (the restore is the costly part), then says it went on (parkedState).
    const gateWait = options.gate ? `${GATE_WAIT}; : > ${GATE_OPENED}; ` : "";
    const proc = await spawnDetached("/bin/sh", ["-c", `${gateWait}umask 077 && ${makeDisk} && exec "$0" "$@"`, plan.qemu, ...buildQemuArgs(input)], {
      stdoutPath: layout.qemuLog,
      stderrPath: layout.qemuLog,
      cwd: spec.dir,
      env: this.host.config.env,
      hint: "check PYRO_QEMU_BIN / that qemu-system-x86_64 is installed",
      ...(options.gate ? { gate: options.gate } : {}),
    });
    const warmer = await this.startWarmer(spec.dir, proc.pid, proc.startTime, options.gate);
    return {
      backend: "qemu",
      pid: proc.pid,
      ...(proc.startTime ? { pidStartTime: proc.startTime } : {}),
      machine: plan.shape.machine,
      accel: plan.shape.accel,
      ...handlePaths(spec.dir, input.rootFormat),
      ...(warmer ? { warmer_pid: warmer.pid, warmer_start_time: warmer.startTime ?? null } : {}),
      ...(options.gate ? { gated: true } : {}),
    };
  }

  /**
   * Start the detached warm-up of a parked machine (warm.ts) when the built
   * entry is there (not under a test runner that runs the sources only); null
   * otherwise: the machine is handed out cold.
   */
  private async startWarmer(dir: string, pid: number, startTime: string | undefined, gate: StartGate | undefined) {
    const entry = join(packageRoot(), "dist", "runtime", "qemu", "warm-main.js");
    if (!existsSync(entry)) return null;
    const argv = [entry, dir, String(pid), startTime ?? ""];
    const options = { stdoutPath: "/dev/null", stderrPath: join(dir, "warm.log"), cwd: dir, env: this.host.config.env };
    // Gated, a shell waits for the gate and then becomes Node (same pid and start time): Node's own start is costly too.
    const started = gate
      ? spawnDetached("/bin/sh", ["-c", `${GATE_WAIT}; exec "$0" "$@"`, process.execPath, ...argv], { ...options, gate })
      : spawnDetached(process.execPath, argv, options);
    return started.catch(() => null);
  }

  async parkedState(handle: MachineHandle, dir: string): Promise<ParkedState> {
    if (!isProcessAlive(handle.pid, handle.pidStartTime)) return "failed";
    // Its maker's call still runs (a gated park): its restore has not begun.
    if (handle.gated === true && !existsSync(join(dir, GATE_OPENED))) return "held";
    const { qmpSocket } = qemuLayout(dir);
    if (!existsSync(qmpSocket)) return "restoring";
    let status: string | undefined;
    try {
      status = ((await qmpCommand(qmpSocket, "query-status", undefined, 2000)) as { status?: string }).status;
    } catch {
      // QMP not answering yet (QEMU still starting): judged again by the caller.
      return isProcessAlive(handle.pid, handle.pidStartTime) ? "restoring" : "failed";
    }
    if (status === "inmigrate") return "restoring";
    if (typeof handle.warmer_pid === "number" && !isWarm(dir)) {
      // Still warming up (it runs, then stops again), or the warm-up died half-way.
      const warming = isProcessAlive(handle.warmer_pid, (handle.warmer_start_time as string | null) ?? undefined);
      return warming ? "restoring" : "failed";
    }
    return status === "paused" ? "ready" : "failed";
  }

  async unpark(spec: MachineSpec, parked: MachineHandle, options: StartOptions): Promise<{ handle: MachineHandle; session: AgentClient }> {
    const format = parked.root_disk_format === "raw" ? "raw" : "qcow2";
    const handle: MachineHandle = { ...parked, ...handlePaths(spec.dir, format) };
    return handOutParked(this, spec, handle, options, {
      resume: async () => {
        await rm(join(spec.dir, WARM_MARKER), { force: true });
        await qmpCommand(handle.qmp_socket as string, "cont");
      },
      connect: () => this.host.connect(spec, handle),
      helloTimeoutMs: this.host.helloTimeoutMs(handle),
      resyncAfterMs: 2_000,
      clientName: CLIENT,
      kill: () => this.host.kill(handle),
    });
  }

  /** How `spec` would be parked, or null when it cannot be (see {@link Parking.parkKey}). */
  private async plan(spec: MachineSpec): Promise<ParkPlan | null> {
    if (!this.host.snapshotsEnabled() || spec.network !== "off" || spec.publishedPorts.length > 0) return null;
    const qemu = findQemu(this.host.config);
    const kernel = spec.environment.kernel;
    const cacheDir = spec.environment.cacheDir;
    if (!qemu || !kernel || !cacheDir || !existsSync(kernel.vmlinuz) || !existsSync(kernel.initramfs)) return null;
    const layout = qemuLayout(spec.dir);
    // A disk that was written no longer fits the boot state's page cache.
    if (existsSync(layout.rawDisk) || existsSync(layout.overlayDisk)) return null;
    const mode = spec.rootDisk === "raw" ? "raw" : "overlay";
    const shape = await this.host.shapeOf(spec, qemu, kernel);
    let key: string;
    try {
      key = snapshotKey(shape, qemu, spec.environment.rootImage).key;
    } catch {
      return null;
    }
    const snapshot = findSnapshot(cacheDir, key);
    return snapshot ? { qemu, shape, mode, snapshot, key: `${key}-${mode}` } : null;
  }
}

/** The per-directory paths of a QEMU handle. */
function handlePaths(dir: string, format: "raw" | "qcow2") {
  const layout = qemuLayout(dir);
  return {
    qmp_socket: layout.qmpSocket,
    agent_sockets: layout.agentSockets,
    agent_locks: layout.agentLocks,
    console_log: layout.consoleLog,
    qemu_log: layout.qemuLog,
    root_disk: format === "raw" ? layout.rawDisk : layout.overlayDisk,
    root_disk_format: format,
  };
}
