import { networkFiles, networkSupport, prepareNetworkFiles, reforward, slirpForward } from "../../net/index.js";
import { existsSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type { Backend, BackendAvailability, BackendCapabilities, MachineHandle, MachineSpec, PublishedPort, StartOptions, SuspendedState } from "../backend.js";
import type { KernelArtifacts } from "../../environments/types.js";
import { installedKernel } from "../../environments/kernel/index.js";
import { discardSnapshot, draftSnapshot, findSnapshot, pruneSnapshots, type FileStamp, type SnapshotDraft } from "../../environments/snapshots.js";
import type { PrunedEntry } from "../../environments/results.js";
import { AgentClient } from "../../agent-client/index.js";
import { activateGuest } from "../guest-boot/index.js";
import { PyroError, toPyroError } from "../../util/errors.js";
import { resolveConfig, type PyroConfig } from "../../util/config.js";
import { isProcessAlive, signalProcess, waitFor } from "../../util/process.js";
import { decideAccel, type AccelDecision } from "./accel.js";
import { buildQemuArgs, USER_NET, type QemuArgsInput, type QemuMachine } from "./args.js";
import { logTail } from "../../util/log-tail.js";
import { ensureRootDisk, type RootDiskMode } from "./disk.js";
import { findQemu, findQemuImg, hostTscKhz } from "./host.js";
import { checkSocketPaths, qemuLayout, type QemuLayout } from "./layout.js";
import { openAgentPort } from "./ports.js";
import { commandLineMentions, readPidFile, spawnQemu, spawnQemuInNamespace } from "./process.js";
import { qmpCommand } from "./qmp.js";
import { QemuParking } from "./parking.js";
import { discardMemory, memoryKey, memoryProblem, saveMemory } from "./suspend.js";
import { saveSnapshot, snapshotKey, VMSTATE_FILE, type SnapshotShape } from "./snapshot.js";

/** Options of {@link QemuBackend}; the defaults suit production. */
export interface QemuBackendOptions {
  /** The resolved configuration: binaries, state and cache directories, QEMU settings, the environment of the QEMU process. */
  config?: PyroConfig;
  /** Without `config`: the environment to resolve one from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Machine type (default: the configured one, `PYRO_QEMU_MACHINE`). */
  machine?: QemuMachine;
  /** KVM device node (default `/dev/kvm`). */
  kvmPath?: string;
  /** Where the KVM probe result is cached (default `<state dir>/qemu-kvm-probe.json`). */
  probeCacheFile?: string;
  /** Kernel that availability() reports and probes KVM with (default: the newest installed one). */
  kernel?: KernelArtifacts;
  /** How long connect() waits for a free agent port (default 30 s). */
  connectTimeoutMs?: number;
  /** Resume and save boot snapshots (default: the configured setting, on unless `PYRO_QEMU_SNAPSHOTS=0`). */
  snapshots?: boolean;
}

/** Client name in the hellos of start(). */
const CLIENT = "pyro-mcp/qemu-start";

/** A launched machine and the session that saw its agent answer. */
interface Booted {
  handle: QemuHandle;
  session: AgentClient;
}

/** How long resuming a snapshot may take before the machine boots instead. */
const RESTORE_TIMEOUT_MS = 20_000;
/** How long saving a paused machine's memory may take. */
const SUSPEND_TIMEOUT_MS = 120_000;
/** How long saving a boot snapshot may take before it is given up. */
const SAVE_TIMEOUT_MS = 30_000;
/** How long a connect and a hello with a running machine's agent may take under KVM. */
const KVM_HELLO_TIMEOUT_MS = 10_000;
/** The same under TCG (software emulation), see {@link QemuBackend.helloTimeoutMs}. */
const TCG_HELLO_TIMEOUT_MS = 60_000;

/** Fields of a QEMU {@link MachineHandle}. */
export interface QemuHandle extends MachineHandle {
  backend: "qemu";
  machine: QemuMachine;
  accel: "kvm" | "tcg";
  qmp_socket: string;
  agent_sockets: string[];
  agent_locks: string[];
  console_log: string;
  qemu_log: string;
  root_disk: string;
  root_disk_format: "qcow2" | "raw";
}

/**
 * The QEMU backend: boots Debian's cloud kernel with pyro's initramfs on
 * `-M microvm` (or q35), KVM when it runs a standard guest, else TCG. The
 * agent is reached over virtio-serial ports `pyro.agent.0…7`, each a Unix
 * socket in the machine directory. See docs/qemu.md.
 */
export class QemuBackend implements Backend {
  readonly name = "qemu" as const;
  readonly capabilities: BackendCapabilities = {
    vm_boot: true,
    guest_exec: true,
    guest_network: true,
    disk_tools: true,
    vsock: false,
    execution_mode: "guest_serial",
  };
  /** The configuration it was made with. */
  readonly config: PyroConfig;
  /** Restored, paused machines for the pool (parking.ts). */
  readonly parking: QemuParking;
  private readonly options: QemuBackendOptions;

  constructor(options: QemuBackendOptions = {}) {
    this.options = options;
    this.config = options.config ?? resolveConfig(options.env ?? process.env);
    this.parking = new QemuParking(this);
  }

  /** Binary, qemu-img, KVM (exists / read-writable / runs a standard guest), accel and kernel. May run a one-off KVM probe boot (≤ 5 s, cached per host boot). */
  async availability(): Promise<BackendAvailability> {
    const qemu = findQemu(this.config);
    const qemuImg = findQemuImg(qemu, this.config);
    const kernel = this.options.kernel ?? installedKernel(this.config.cacheDir);
    const machine = this.machine();
    const details: BackendAvailability["details"] = {
      network: networkSupport(),
      binary: qemu ?? "missing",
      qemu_img: qemuImg ?? "missing",
      machine,
      kvm_exists: existsSync(this.options.kvmPath ?? "/dev/kvm"),
      kernel: kernel ? kernel.release : "not installed (pyro env pull installs it)",
      boot_snapshots: this.snapshotsEnabled() ? "on" : "off (PYRO_QEMU_SNAPSHOTS=0)",
    };
    if (!qemu) {
      return {
        usable: false,
        reason: "qemu-system-x86_64 is not installed",
        fix: "install QEMU (Debian: apt-get install qemu-system-x86 qemu-utils) or set PYRO_QEMU_BIN",
        details,
      };
    }
    const accel = await this.accel(qemu, kernel);
    details.kvm_accessible = accel.kvmAccessible;
    if (accel.kvmRunsStandardGuest !== undefined) details.kvm_runs_standard_guest = accel.kvmRunsStandardGuest;
    details.accel = accel.accel;
    details.accel_reason = accel.reason;
    if (!qemuImg) {
      return { usable: false, reason: "qemu-img is not installed", fix: "install qemu-utils (Debian: apt-get install qemu-utils)", details };
    }
    return { usable: true, details };
  }

  /**
   * Resume the boot snapshot of this machine's shape, or boot; then activate
   * the guest (hostname, clock, fresh entropy, writable root) and resolve.
   * A machine with a fresh root disk resumes the snapshot when there is one,
   * and the first one of its shape that boots saves it (docs/qemu.md, "Boot
   * snapshots"). A snapshot that fails to resume is discarded and the machine
   * boots instead.
   */
  async start(spec: MachineSpec, options: StartOptions): Promise<MachineHandle> {
    const deadline = Date.now() + options.bootTimeoutMs;
    const progress = options.onProgress ?? (() => undefined);
    const qemu = findQemu(this.config);
    if (!qemu) {
      throw new PyroError("unavailable", "qemu-system-x86_64 is not installed", {
        hint: "install QEMU (Debian: apt-get install qemu-system-x86 qemu-utils) or set PYRO_QEMU_BIN",
      });
    }
    const kernel = spec.environment.kernel;
    if (!kernel || !existsSync(kernel.vmlinuz) || !existsSync(kernel.initramfs)) {
      throw new PyroError("unavailable", `environment ${spec.environment.name} has no guest kernel and initramfs`, {
        hint: `re-pull the environment (pyro env pull ${spec.environment.name})`,
      });
    }
    const layout = qemuLayout(spec.dir);
    checkSocketPaths(layout);
    await mkdir(spec.dir, { recursive: true, mode: 0o700 });
    this.refuseIfRunning(layout);
    await removeRuntimeFiles(layout);

    const mode = this.diskMode(spec, layout);
    const rootDisk = mode === "raw" ? layout.rawDisk : layout.overlayDisk;
    // Only a disk that still equals the environment's image fits a snapshot's page cache.
    const freshDisk = !existsSync(rootDisk);
    const makeDisk = (): Promise<void> => ensureRootDisk(mode, spec.environment.rootImage, rootDisk, findQemuImg(qemu, this.config));
    progress(`phase=disk mode=${mode}`);
    await makeDisk();

    const shape = await this.shapeOf(spec, qemu, kernel);
    const args: QemuArgsInput = { ...shape, layout, rootDisk, rootFormat: mode === "raw" ? "raw" : "qcow2", publishedPorts: spec.publishedPorts };
    const launch = (incomingState: string | undefined, until: number): Promise<Booted> =>
      this.launch(spec, qemu, incomingState ? { ...args, incomingState } : args, until, options.bootTimeoutMs, progress);

    let booted: Booted | undefined;
    if (options.resume) {
      booted = await this.resumeMemory(layout, shape, qemu, launch, deadline, progress);
    } else if (existsSync(layout.memoryState) || existsSync(layout.memoryMeta)) {
      // A cold start of a paused machine: its saved memory no longer fits the disk once this boot writes it.
      progress("phase=discard-memory");
      await discardMemory(layout);
    }

    const cacheDir = spec.environment.cacheDir;
    const snapshots = !booted && freshDisk && cacheDir && this.snapshotsEnabled() ? { cacheDir, ...snapshotKey(shape, qemu, spec.environment.rootImage) } : undefined;
    let found = snapshots && findSnapshot(snapshots.cacheDir, snapshots.key);
    if (snapshots && found) {
      progress(`phase=restore snapshot=${snapshots.key}`);
      try {
        booted = await launch(join(found.dir, VMSTATE_FILE), Math.min(deadline, Date.now() + RESTORE_TIMEOUT_MS));
      } catch (error) {
        const failure = toPyroError(error);
        // Only a resume that QEMU refused proves the snapshot bad; one that was merely slow (a loaded host) keeps it for the next machine.
        const slow = failure.code === "timeout";
        progress(`phase=restore-failed snapshot=${snapshots.key} kept=${slow} error=${JSON.stringify(failure.message.split("\n")[0])}`);
        if (!slow) {
          await discardSnapshot(snapshots.cacheDir, snapshots.key);
          found = undefined;
        }
        await removeRuntimeFiles(layout);
        await rm(rootDisk, { force: true });
        await makeDisk();
      }
    }
    if (!booted) {
      booted = await launch(undefined, deadline);
      if (snapshots && !found) {
        // The saved state must not hold a host session: the machines that resume it have none.
        await booted.session.close();
        await this.saveBootSnapshot(booted.handle, snapshots, progress);
      }
    }
    const { handle } = booted;
    progress("phase=activate");
    try {
      const session = booted.session.closed ? await this.openSession(spec, handle, Math.max(1000, deadline - Date.now())) : booted.session;
      await this.activate(spec, session);
    } catch (error) {
      await this.kill(handle);
      throw toPyroError(error);
    }
    // The machine runs on from its saved state: the disk now moves on without it.
    if (options.resume) await discardMemory(layout);
    progress("phase=ready");
    return handle;
  }

  /**
   * Save the machine's memory and device state next to its disk
   * (`memory.state`, QEMU's migration stream, plus `memory.json`), then end
   * QEMU. On failure the machine runs on. See docs/pause-resume.md.
   */
  async suspend(spec: MachineSpec, handle: MachineHandle): Promise<SuspendedState> {
    const qemu = findQemu(this.config);
    const kernel = spec.environment.kernel;
    if (!qemu || !kernel) throw new PyroError("unavailable", "QEMU or the guest kernel is missing", { hint: "run pyro doctor" });
    if (!this.isRunning(handle)) throw new PyroError("failed_precondition", `the QEMU process of ${spec.id} is not running`, { hint: "start it again" });
    const layout = qemuLayout(spec.dir);
    const bytes = await saveMemory(layout, memoryKey(await this.shapeOf(spec, qemu, kernel), qemu), SUSPEND_TIMEOUT_MS);
    await qmpCommand(layout.qmpSocket, "quit", undefined, 2000).catch(() => undefined);
    if (!(await waitFor(() => !this.isRunning(handle), 5000, 10))) await this.kill(handle);
    await this.kill(handle);
    await removeRuntimeFiles(layout);
    return { bytes, path: layout.memoryState };
  }

  /**
   * Copy a running machine into `targetDir`: its memory and device state
   * (saved as by {@link suspend}) and a copy of its disk taken while it is
   * stopped (`cp --reflink=auto`: copy-on-write where the filesystem can),
   * then let the source run on. The copy resumes with `resume: true`.
   */
  async fork(spec: MachineSpec, handle: MachineHandle, targetDir: string): Promise<SuspendedState> {
    const qemu = findQemu(this.config);
    const kernel = spec.environment.kernel;
    if (!qemu || !kernel) throw new PyroError("unavailable", "QEMU or the guest kernel is missing", { hint: "run pyro doctor" });
    if (!this.isRunning(handle)) throw new PyroError("failed_precondition", `the QEMU process of ${spec.id} is not running`, { hint: "start it again" });
    const source = qemuLayout(spec.dir);
    const target = qemuLayout(targetDir);
    checkSocketPaths(target);
    const disk = existsSync(source.rawDisk) ? { from: source.rawDisk, to: target.rawDisk } : { from: source.overlayDisk, to: target.overlayDisk };
    if (disk.from === source.overlayDisk) {
      throw new PyroError("unsupported", "only machines with a raw disk (workspaces) can be forked", { hint: "fork a workspace" });
    }
    await mkdir(targetDir, { recursive: true, mode: 0o700 });
    const bytes = await saveMemory(source, memoryKey(await this.shapeOf(spec, qemu, kernel), qemu), SUSPEND_TIMEOUT_MS, target);
    // The source is stopped (its disk flushed) until the copy is made.
    try {
      await ensureRootDisk("raw", disk.from, disk.to, undefined);
    } catch (error) {
      await discardMemory(target);
      throw error;
    } finally {
      await qmpCommand(source.qmpSocket, "cont").catch(() => undefined);
    }
    return { bytes, path: target.memoryState };
  }

  /** Launch QEMU on the state {@link suspend} saved; a clear error (and the state kept) when it cannot be. */
  private async resumeMemory(
    layout: QemuLayout,
    shape: SnapshotShape,
    qemu: string,
    launch: (incomingState: string | undefined, until: number) => Promise<Booted>,
    deadline: number,
    progress: (line: string) => void,
  ): Promise<Booted> {
    const problem = existsSync(layout.memoryState) ? await memoryProblem(layout, memoryKey(shape, qemu)) : "there is no saved memory state";
    if (problem) {
      throw new PyroError("failed_precondition", `cannot resume ${layout.dir}: ${problem}`, {
        hint: "start it cold instead (pyro workspace start): the disk is kept, running processes are not",
      });
    }
    progress("phase=resume-memory");
    try {
      return await launch(layout.memoryState, Math.min(deadline, Date.now() + RESTORE_TIMEOUT_MS));
    } catch (error) {
      await removeRuntimeFiles(layout);
      const e = toPyroError(error);
      throw new PyroError("guest_failure", `the saved memory state could not be resumed (damaged, or from an incompatible QEMU): ${e.message.split("\n")[0]}`, {
        hint: "start it cold instead (pyro workspace start): the disk is kept, running processes are not",
        details: e.details ?? {},
        cause: error,
      });
    }
  }

  /** Everything of a machine's command line that the guest sees (the boot snapshot's shape). */
  async shapeOf(spec: MachineSpec, qemu: string, kernel: KernelArtifacts): Promise<SnapshotShape> {
    const accel = await this.accel(qemu, kernel);
    const tscKhz = hostTscKhz();
    return {
      machine: this.machine(),
      accel: accel.accel,
      vcpus: spec.vcpuCount,
      memMib: spec.memMib,
      kernel: kernel.vmlinuz,
      initramfs: kernel.initramfs,
      network: spec.network,
      ...(tscKhz ? { tscKhz } : {}),
      ...(this.config.qemu.extraCmdline.length > 0 ? { extraCmdline: [...this.config.qemu.extraCmdline] } : {}),
    };
  }

  /** A new byte stream to the agent on a free port (see {@link openAgentPort}). */
  async connect(spec: MachineSpec, handle: MachineHandle): Promise<Duplex> {
    const h = this.handleOf(spec, handle);
    const check = (): void => {
      if (!this.isRunning(handle)) {
        throw new PyroError("failed_precondition", `the QEMU process of ${spec.id} is not running (pid ${handle.pid})`, {
          hint: "start the machine again",
          details: { pid: handle.pid },
        });
      }
    };
    check();
    const { socket } = await openAgentPort(h.agent_sockets, h.agent_locks, {
      timeoutMs: this.options.connectTimeoutMs ?? 30_000,
      check,
    });
    return socket;
  }

  /**
   * 10 s under KVM; a minute under TCG, where a guest's every instruction is
   * emulated and twenty guests may share two host CPUs: an agent that is
   * merely slow there answers in tens of seconds (bench/scale.mjs).
   */
  helloTimeoutMs(handle: MachineHandle): number {
    return handle.accel === "kvm" ? KVM_HELLO_TIMEOUT_MS : TCG_HELLO_TIMEOUT_MS;
  }

  /** Whether the QEMU process of the handle is alive (pid and start time match). */
  isRunning(handle: MachineHandle): boolean {
    return isProcessAlive(handle.pid, handle.pidStartTime);
  }

  /** Wait for QEMU to exit (the caller asked the agent to power off), then QMP `quit`, then SIGKILL at `graceMs`. */
  async stop(spec: MachineSpec, handle: MachineHandle, graceMs: number): Promise<void> {
    if (!this.isRunning(handle)) return;
    const deadline = Date.now() + graceMs;
    const left = (): number => Math.max(0, deadline - Date.now());
    if (await waitFor(() => !this.isRunning(handle), Math.floor(graceMs / 2), 25)) return;
    try {
      await qmpCommand(this.handleOf(spec, handle).qmp_socket, "quit", undefined, Math.max(100, Math.min(2000, left())));
    } catch {
      // QMP gone or hung: the kill below still ends it.
    }
    if (await waitFor(() => !this.isRunning(handle), left(), 25)) return;
    await this.kill(handle);
  }

  /**
   * Add user-mode `hostfwd` rules to a running QEMU (HMP `hostfwd_add` through
   * QMP), host side on 127.0.0.1 only. Ports known at boot are forwarded by
   * the command line instead (see args.ts).
   */
  async publishPorts(spec: MachineSpec, handle: MachineHandle, ports: PublishedPort[]): Promise<void> {
    if (spec.network !== "egress+published-ports") {
      throw new PyroError("failed_precondition", `machine ${spec.id} was booted without network policy egress+published-ports`);
    }
    const socket = this.handleOf(spec, handle).qmp_socket;
    for (const port of ports) {
      // QEMU listens on the port inside the machine's namespace; slirp4netns brings the host's 127.0.0.1 port to it.
      const rule = `tcp::${port.host_port}-:${port.guest_port}`;
      // HMP reports failure as text in the return value, not as a QMP error.
      const answer = await qmpCommand(socket, "human-monitor-command", { "command-line": `hostfwd_add net0 ${rule}` });
      if (typeof answer === "string" && answer.trim() !== "") {
        throw new PyroError("unavailable", `QEMU could not forward host port ${port.host_port}: ${answer.trim()}`, {
          hint: "pick another host port, or omit it to let pyro pick",
        });
      }
      try {
        await slirpForward(networkFiles(spec.dir).slirpSocket, port.host_port, port.host_port);
      } catch (error) {
        // The host port was taken: drop the inner rule too, so a retry on another port starts clean.
        await qmpCommand(socket, "human-monitor-command", { "command-line": `hostfwd_remove net0 tcp::${port.host_port}` }).catch(() => undefined);
        throw error;
      }
    }
  }

  /** SIGKILL QEMU and wait until it is gone. */
  async kill(handle: MachineHandle): Promise<void> {
    // The stack would exit by itself once QEMU is gone; a kill should not wait for that.
    if (typeof handle.slirpPid === "number") signalProcess(handle.slirpPid, "SIGKILL", handle.slirpPidStartTime as string | undefined);
    if (!this.isRunning(handle)) return;
    signalProcess(handle.pid, "SIGKILL");
    await waitFor(() => !this.isRunning(handle), 5000, 10);
  }

  /** The raw ext4 root disk of a machine booted with `rootDisk: "raw"`, for debugfs while it is stopped; null otherwise. */
  rootDiskImage(spec: MachineSpec): string | null {
    const { rawDisk } = qemuLayout(spec.dir);
    return existsSync(rawDisk) ? rawDisk : null;
  }

  /** Remove the machine's files: sockets, locks, pid file, logs and root disk. */
  async cleanup(spec: MachineSpec): Promise<void> {
    const layout = qemuLayout(spec.dir);
    // At once, not one after the other: a one-shot run waits for its teardown.
    await Promise.all([removeRuntimeFiles(layout), discardMemory(layout), ...[layout.overlayDisk, layout.rawDisk, layout.consoleLog, layout.qemuLog].map((path) => rm(path, { force: true }))]);
  }

  /** Spawn QEMU detached and open a session with its agent; killed and rethrown on failure. */
  private async launch(
    spec: MachineSpec,
    qemu: string,
    input: QemuArgsInput,
    deadline: number,
    bootTimeoutMs: number,
    progress: (message: string) => void,
  ): Promise<Booted> {
    const { layout } = input;
    await writeFile(layout.consoleLog, "", { mode: 0o600 });
    if (!input.incomingState) progress(`phase=boot machine=${input.machine} accel=${input.accel} binary=${qemu}`);
    const networked = spec.network === "off" ? undefined : await this.spawnNetworked(spec, qemu, input, bootTimeoutMs);
    const proc = networked ?? (await spawnQemu(qemu, buildQemuArgs(input), layout.qemuLog, spec.dir, this.config.env));
    const handle: QemuHandle = {
      backend: "qemu",
      pid: proc.pid,
      ...(proc.startTime ? { pidStartTime: proc.startTime } : {}),
      machine: input.machine,
      accel: input.accel,
      qmp_socket: layout.qmpSocket,
      agent_sockets: layout.agentSockets,
      agent_locks: layout.agentLocks,
      console_log: layout.consoleLog,
      qemu_log: layout.qemuLog,
      root_disk: input.rootDisk,
      root_disk_format: input.rootFormat,
      ...(spec.network === "off" ? {} : { guest_ip: USER_NET.address.split("/")[0] }),
      ...(networked ? { slirpPid: networked.slirp.pid, slirpPidStartTime: networked.slirp.startTime } : {}),
    };
    try {
      return { handle, session: await this.waitForAgent(handle, layout, deadline, bootTimeoutMs, progress) };
    } catch (error) {
      await this.kill(handle);
      throw toPyroError(error);
    }
  }

  /** Start QEMU in a network namespace of its own (src/net) and forward its published ports from the host's 127.0.0.1. */
  private async spawnNetworked(spec: MachineSpec, qemu: string, input: QemuArgsInput, timeoutMs: number) {
    const net = await prepareNetworkFiles(spec.dir, spec.allow);
    const proc = await spawnQemuInNamespace(qemu, buildQemuArgs(input), input.layout.qemuLog, spec.dir, this.config.env, {
      // QEMU's user-mode network forwards the guest's DNS to the nameserver of its /etc/resolv.conf: make that the stack's forwarder, or the allow-list resolver.
      stage: {
        rulesFile: net.rulesFile,
        hostResolvConf: net.hostResolvConf,
        ...(net.resolver ? { resolver: { binary: this.config.agent.bin, ...net.resolver } } : {}),
      },
      slirpSocket: net.slirpSocket,
      slirpLog: net.slirpLog,
      timeoutMs,
    });
    try {
      if (spec.network === "egress+published-ports") await reforward(spec.publishedPorts, (port) => slirpForward(net.slirpSocket, port, port));
    } catch (error) {
      signalProcess(proc.pid, "SIGKILL", proc.startTime);
      signalProcess(proc.slirp.pid, "SIGKILL", proc.slirp.startTime);
      throw error;
    }
    return proc;
  }

  /**
   * Save the boot snapshot of a machine that has just booted and is not yet
   * activated. A failure costs only the snapshot: it is reported and the
   * machine runs on.
   */
  private async saveBootSnapshot(handle: QemuHandle, target: { cacheDir: string; key: string; sources: FileStamp[] }, progress: (message: string) => void): Promise<void> {
    const started = Date.now();
    let draft: SnapshotDraft | undefined;
    try {
      draft = await draftSnapshot(target.cacheDir, target.key, "qemu", target.sources);
      await saveSnapshot(handle.qmp_socket, join(draft.dir, VMSTATE_FILE), SAVE_TIMEOUT_MS);
      await draft.publish([VMSTATE_FILE]);
      progress(`phase=snapshot-saved snapshot=${target.key} duration_ms=${Date.now() - started}`);
      // A new snapshot usually means its predecessor's sources changed (a re-pulled image, a new kernel): drop what went stale.
      const stale: PrunedEntry[] = [];
      await pruneSnapshots(target.cacheDir, stale);
      if (stale.length > 0) progress(`phase=snapshot-pruned count=${stale.length} freed_bytes=${stale.reduce((n, e) => n + e.bytes, 0)}`);
    } catch (error) {
      await draft?.abandon();
      progress(`phase=snapshot-failed error=${JSON.stringify(toPyroError(error).message.split("\n")[0])}`);
    }
  }

  /** A new agent session on a running machine. */
  private async openSession(spec: MachineSpec, handle: QemuHandle, timeoutMs: number): Promise<AgentClient> {
    const stream = await this.connect(spec, handle);
    return AgentClient.connect(stream, { helloTimeoutMs: Math.min(timeoutMs, this.helloTimeoutMs(handle)), resyncAfterMs: 2_000, clientName: CLIENT });
  }

  /** Give the guest its identity and a writable root (the shared identity step, guest-boot), then close `session`. */
  private async activate(spec: MachineSpec, session: AgentClient): Promise<void> {
    try {
      await activateGuest(session, { hostname: spec.hostname, environmentName: spec.environment.name, resumable: true });
    } finally {
      await session.close();
    }
  }

  /** Whether boot snapshots are resumed and saved. */
  snapshotsEnabled(): boolean {
    return this.options.snapshots ?? this.config.qemu.snapshots;
  }

  private machine(): QemuMachine {
    return this.options.machine ?? this.config.qemu.machine;
  }

  private accel(qemu: string, kernel: KernelArtifacts | undefined): Promise<AccelDecision> {
    return decideAccel({
      qemu,
      ...(kernel ? { kernel } : {}),
      cacheFile: this.options.probeCacheFile ?? join(this.config.stateDir, "qemu-kvm-probe.json"),
      forced: this.config.qemu.accel,
      ...(this.options.kvmPath ? { kvmPath: this.options.kvmPath } : {}),
    });
  }

  private diskMode(spec: MachineSpec, layout: QemuLayout): RootDiskMode {
    // A stopped machine keeps the disk it was created with.
    if (existsSync(layout.rawDisk)) return "raw";
    if (existsSync(layout.overlayDisk)) return "overlay";
    return spec.rootDisk === "raw" ? "raw" : "overlay";
  }

  private refuseIfRunning(layout: QemuLayout): void {
    const pid = readPidFile(layout.pidFile);
    if (pid !== undefined && isProcessAlive(pid) && commandLineMentions(pid, layout.qmpSocket)) {
      throw new PyroError("failed_precondition", `a QEMU process (pid ${pid}) still runs this machine`, {
        hint: "stop the machine before starting it again",
        details: { pid, dir: layout.dir },
      });
    }
  }

  private handleOf(spec: MachineSpec, handle: MachineHandle): Pick<QemuHandle, "qmp_socket" | "agent_sockets" | "agent_locks"> {
    const layout = qemuLayout(spec.dir);
    const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((s) => typeof s === "string") ? (v as string[]) : undefined);
    return {
      qmp_socket: typeof handle.qmp_socket === "string" ? handle.qmp_socket : layout.qmpSocket,
      agent_sockets: strings(handle.agent_sockets) ?? layout.agentSockets,
      agent_locks: strings(handle.agent_locks) ?? layout.agentLocks,
    };
  }

  /**
   * Open the first session with a booting (or resuming) machine's agent. Bytes
   * written before the guest opens its port wait in QEMU, so one hello usually
   * suffices; it is repeated (4 s, 8 s, 16 s…) in case a session was lost.
   */
  private async waitForAgent(handle: QemuHandle, layout: QemuLayout, deadline: number, bootTimeoutMs: number, progress: (m: string) => void): Promise<AgentClient> {
    let attemptMs = 4000;
    let announced = false;
    for (;;) {
      if (!this.isRunning(handle)) throw await bootFailure("guest_failure", "QEMU exited before the guest agent answered", layout);
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (!layout.agentSockets.every((s) => existsSync(s))) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      if (!announced) {
        // Created under umask 077 already (0700); sockets need no x bit.
        for (const path of [layout.qmpSocket, ...layout.agentSockets]) await chmod(path, 0o600).catch(() => undefined);
        progress("phase=wait-agent");
        announced = true;
      }
      let socket;
      try {
        ({ socket } = await openAgentPort(layout.agentSockets, layout.agentLocks, { timeoutMs: left }));
      } catch {
        // QEMU died (checked above) or all ports are busy: retry until the deadline.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      try {
        return await AgentClient.connect(socket, { helloTimeoutMs: Math.min(attemptMs, left), clientName: CLIENT });
      } catch (error) {
        // An agent that answered with a bad or too old hello will not answer better next time.
        if (error instanceof PyroError && error.details?.agent_answered === true) throw error;
      }
      attemptMs *= 2;
    }
    throw await bootFailure("timeout", `the guest agent did not answer within ${Math.round(bootTimeoutMs / 1000)} s`, layout);
  }
}

async function removeRuntimeFiles(layout: QemuLayout): Promise<void> {
  await Promise.all([layout.qmpSocket, layout.pidFile, ...layout.agentSockets, ...layout.agentLocks].map((path) => rm(path, { force: true })));
}

async function bootFailure(code: "timeout" | "guest_failure", what: string, layout: QemuLayout): Promise<PyroError> {
  const consoleTail = await logTail(layout.consoleLog);
  const qemuTail = await logTail(layout.qemuLog, { lines: 10 });
  const parts = [what];
  if (qemuTail) parts.push(`QEMU said:\n${qemuTail}`);
  parts.push(consoleTail ? `last console lines:\n${consoleTail}` : "the guest console is empty");
  return new PyroError(code, parts.join("\n"), {
    hint:
      code === "timeout"
        ? "the guest is slow (software emulation) or its init failed; read the console lines above, or raise the boot timeout"
        : "read the console and QEMU lines above; re-pull the environment if its kernel or image is damaged",
    details: { console_log: layout.consoleLog, qemu_log: layout.qemuLog, console_tail: consoleTail, ...(qemuTail ? { qemu_tail: qemuTail } : {}) },
  });
}

