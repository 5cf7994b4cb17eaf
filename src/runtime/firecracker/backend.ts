import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type {
  Backend,
  BackendAvailability,
  BackendCapabilities,
  MachineHandle,
  MachineSpec,
  Parking,
  PublishedPort,
  StartOptions,
} from "../backend.js";
import { PyroError, toPyroError } from "../../util/errors.js";
import { FirecrackerApiClient } from "./api-client.js";
import { checkFirecrackerAvailability } from "./availability.js";
import { kvmGuestCheck } from "./kvm-check.js";
import type { KernelArtifacts } from "../../environments/types.js";
import { buildVmConfig, configureAndStart, type VmmKernel } from "./boot-config.js";
import { AGENT_VSOCK_PORT, VM_FILES, VSOCK_HANDSHAKE_TIMEOUT_MS } from "./constants.js";
import { ensureRootDisk } from "./disk.js";
import { jailedExecName, jailerArgs, prepareJail } from "./jailer.js";
import { vmLayout, type VmLayout } from "./layout.js";
import { findBinary } from "../../util/binaries.js";
import { resolveConfig, type PyroConfig } from "../../util/config.js";
import { logTail } from "../../util/log-tail.js";
import { isProcessAlive, signalProcess, sleep, spawnDetached, waitForExit } from "../../util/process.js";
import { connectVsock } from "./vsock.js";
import { FirecrackerParking } from "./parking.js";
import { portableLayout, saveBootSnapshot } from "./snapshot.js";
import { firecrackerSnapshotKey } from "./snapshot.js";
import { draftSnapshot, findSnapshot, type FileStamp } from "../../environments/snapshots.js";
import { AgentClient } from "../../agent-client/index.js";
import { activateGuest } from "../guest-boot/index.js";
import { egressRuleset, networkFiles, networkSupport, slirpForward } from "../../net/index.js";
import { GUEST_TAP, GUEST_TAP_NET, guestTapStage, prepareGuestTapRules } from "../../net/guest-tap.js";
import { spawnInNetNamespace } from "../../net/spawn-in-namespace.js";

/** Client name of the host's boot-time session (hello). */
const CLIENT = "pyro-mcp/firecracker-start";

/** Options of {@link FirecrackerBackend}; defaults suit production. */
export interface FirecrackerBackendOptions {
  /** The resolved configuration: binaries, jailer ids, the environment of the VMM process. */
  config?: PyroConfig;
  /** Without `config`: the environment to resolve one from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Run through the jailer (default: when running as root). */
  jailed?: boolean;
  /** uid/gid the jailer drops to (default: the configured ones, `PYRO_JAILER_UID`/`PYRO_JAILER_GID`, else 65534). */
  jailerUid?: number;
  jailerGid?: number;
  /**
   * Name of the TAP device of a machine with network, or undefined when none
   * can exist. The backend creates it inside the machine's own network
   * namespace (src/net/guest-tap.ts); the default derives
   * {@link tapDeviceName} when running as root.
   */
  tapDevice?: (spec: MachineSpec) => string | undefined;
  /** KVM device node (default `/dev/kvm`). */
  kvmPath?: string;
  /** Guest kernel vmlinux that availability() should check, when known. */
  vmlinux?: string;
  /** Guest vsock port of the agent (default {@link AGENT_VSOCK_PORT}). */
  agentPort?: number;
  /** How long to wait for the API socket after spawning (default 5 s, capped by the boot timeout). */
  apiReadyTimeoutMs?: number;
  /** Kernel availability() probes KVM with (default: the newest installed one). */
  kernel?: KernelArtifacts;
  /** Where the KVM probe result is cached (default: the one QEMU uses, `<state dir>/qemu-kvm-probe.json`). */
  probeCacheFile?: string;
  /**
   * Boot snapshots and the pool (default off): an unjailed machine without
   * network boots snapshot-safe (read-only root until `activate`), the first
   * of a shape saves its state through the snapshot API, and the backend
   * offers `parking` (parking.ts). Off by default until proven on a KVM host
   * that boots a guest: on the development hosts only the contract (the
   * official API spec, and the real binary's answers without a guest) is.
   */
  bootSnapshots?: boolean;
}

/** The TAP device name pyro expects for a machine id (at most 15 characters). */
export function tapDeviceName(id: string): string {
  return `pyro${id.replace(/[^A-Za-z0-9]/g, "").slice(0, 11)}`;
}

/** Fields of a Firecracker {@link MachineHandle}. */
export interface FirecrackerHandle extends MachineHandle {
  backend: "firecracker";
  api_socket: string;
  vsock_socket: string;
  root_disk: string;
  console_log: string;
  log_path: string;
  jailed: boolean;
  chroot?: string;
  /** The user-mode stack of a networked machine (it also exits by itself with the machine). */
  slirpPid?: number;
  slirpPidStartTime?: string;
}

/**
 * Firecracker microVM backend: boots the environment's ELF vmlinux with a
 * per-VM copy of its root image, detached (through the jailer when root), and
 * reaches the guest agent over vsock.
 */
export class FirecrackerBackend implements Backend {
  readonly name = "firecracker" as const;
  readonly capabilities: BackendCapabilities;
  readonly config: PyroConfig;
  readonly parking?: Parking;
  private readonly env: NodeJS.ProcessEnv;
  private readonly jailed: boolean;
  private readonly options: FirecrackerBackendOptions;

  constructor(options: FirecrackerBackendOptions = {}) {
    this.options = options;
    this.config = options.config ?? resolveConfig(options.env ?? process.env);
    this.env = this.config.env;
    const root = typeof process.getuid === "function" && process.getuid() === 0;
    this.jailed = options.jailed ?? root;
    const tapPossible = options.tapDevice !== undefined || (root && existsSync("/dev/net/tun"));
    this.capabilities = {
      vm_boot: true,
      guest_exec: true,
      guest_network: tapPossible,
      disk_tools: true,
      vsock: true,
      execution_mode: "guest_vsock",
    };
    if (options.bootSnapshots && !this.jailed) this.parking = new FirecrackerParking(this);
  }

  /** The firecracker binary (PYRO_FIRECRACKER_BIN or PATH), or undefined. */
  binary(): string | undefined {
    return findBinary("firecracker", this.config.firecracker.bin, this.env);
  }

  /** The guest vsock port of the agent. */
  get agentPort(): number {
    return this.port;
  }

  /**
   * See {@link checkFirecrackerAvailability}; then, when those checks pass,
   * whether a standard guest boots under this host's KVM at all: the probe
   * that keeps QEMU on TCG ({@link kvmGuestCheck}). A binary and a /dev/kvm
   * are not enough (a PVM host runs no standard guest).
   */
  async availability(): Promise<BackendAvailability> {
    const result = checkFirecrackerAvailability({
      env: this.env,
      firecracker: this.config.firecracker,
      root: this.jailed,
      ...(this.options.kvmPath ? { kvmPath: this.options.kvmPath } : {}),
      ...(this.options.vmlinux ? { vmlinux: this.options.vmlinux } : {}),
    });
    const network = this.capabilities.guest_network ? networkSupport() : "off only: a TAP device needs root and /dev/net/tun";
    const details: BackendAvailability["details"] = { ...result.details, network };
    if (!result.usable) return { ...result, details };
    const kvm = await kvmGuestCheck({ config: this.config, ...(this.options.kernel ? { kernel: this.options.kernel } : {}), ...(this.options.probeCacheFile ? { cacheFile: this.options.probeCacheFile } : {}) });
    details.kvm_runs_standard_guest = kvm.detail;
    if (kvm.runs === false) {
      return {
        usable: false,
        reason: "a standard guest kernel does not boot under this host's KVM (the probe boot timed out), so no Firecracker guest can boot here",
        fix: "run on bare metal or a VM with nested virtualisation (kvm_intel/kvm_amd); here pyro uses qemu (TCG) instead",
        details,
      };
    }
    return { ...result, details };
  }

  /**
   * Boot the machine detached with the guest-boot command line, wait for the
   * agent on vsock, give the guest its identity (`activate`, as on qemu) and
   * return.
   */
  async start(spec: MachineSpec, options: StartOptions): Promise<MachineHandle> {
    const deadline = Date.now() + options.bootTimeoutMs;
    const progress = options.onProgress ?? (() => undefined);
    // Never claim a policy nothing enforces: the Firecracker TAP has no filter of its own yet (docs/networking.md).
    if ((spec.allow?.hosts.length ?? 0) + (spec.allow?.cidrs.length ?? 0) > 0) {
      throw new PyroError("unsupported", "allow-lists (allow_hosts, allow_cidrs) are not built for the firecracker backend yet", {
        hint: "use --backend qemu or sandbox for allow-lists, or leave them out",
      });
    }
    const kernel = this.kernelOf(spec);
    const firecracker = this.requireBinary("firecracker", "PYRO_FIRECRACKER_BIN", this.config.firecracker.bin);
    const jailer = this.jailed ? this.requireBinary("jailer", "PYRO_JAILER_BIN", this.config.firecracker.jailerBin) : undefined;
    const layout = this.layoutOf(spec, firecracker);
    const tap = spec.network === "off" ? undefined : this.tapFor(spec);

    await mkdir(spec.dir, { recursive: true, mode: 0o700 });
    progress(`phase=disk id=${spec.id}`);
    const freshDisk = await ensureRootDisk(spec.environment.rootImage, layout.rootDisk);
    await removeStaleSockets(layout);

    let vmmKernel: VmmKernel = { kernel: kernel.vmlinux, ...(kernel.initramfs ? { initrd: kernel.initramfs } : {}) };
    let file = firecracker;
    let args = ["--api-sock", layout.vmm.apiSocket, "--id", spec.id];
    if (jailer) {
      const { uid, gid } = this.jailerIds();
      vmmKernel = await prepareJail(layout, kernel, uid, gid);
      file = jailer;
      args = jailerArgs({
        id: spec.id,
        firecrackerBin: firecracker,
        uid,
        gid,
        chrootBase: layout.jailBase as string,
        // No --id here: the jailer passes its own to firecracker, which refuses a second one (exit 153).
        firecrackerArgs: ["--api-sock", layout.vmm.apiSocket],
      });
    } else {
      for (const path of [layout.logFile, layout.metricsFile]) await writeFile(path, "", { mode: 0o600 });
    }

    progress(`phase=spawn binary=${file}${tap ? " network=namespace" : ""}`);
    const proc = tap
      ? await this.spawnNetworked(spec, layout, tap, file, args, jailer ? this.jailerIds() : undefined, deadline)
      : await spawnDetached(file, args, {
          stdoutPath: layout.consoleFile,
          stderrPath: layout.stderrFile,
          env: this.env,
          cwd: spec.dir,
          hint: "check that the binary exists and is executable (PYRO_FIRECRACKER_BIN / PYRO_JAILER_BIN)",
        });
    const handle: FirecrackerHandle = {
      backend: "firecracker",
      pid: proc.pid,
      ...(proc.startTime ? { pidStartTime: proc.startTime } : {}),
      api_socket: layout.apiSocket,
      vsock_socket: layout.vsockSocket,
      root_disk: layout.rootDisk,
      console_log: layout.consoleFile,
      log_path: layout.logFile,
      jailed: layout.jailed,
      ...(layout.chrootRoot ? { chroot: layout.chrootRoot } : {}),
      ...("slirp" in proc ? { slirpPid: proc.slirp.pid, ...(proc.slirp.startTime ? { slirpPidStartTime: proc.slirp.startTime } : {}), guest_ip: GUEST_TAP.guestAddress } : {}),
    };

    try {
      const client = new FirecrackerApiClient(layout.apiSocket);
      await this.waitForApi(client, handle, layout, Math.min(deadline, Date.now() + (this.options.apiReadyTimeoutMs ?? 5000)));
      progress("phase=configure");
      // Snapshot-safe boots (bootSnapshots): read-only root until activate, paths the snapshot can carry to another directory.
      const snapshots = this.parking && !tap ? this.snapshotTarget(spec, firecracker, vmmKernel) : undefined;
      const vmLayoutUsed = this.parking && !tap ? portableLayout(layout) : layout;
      await configureAndStart(client, buildVmConfig(spec, vmLayoutUsed, vmmKernel, tap, this.port, GUEST_TAP_NET, { snapshot: vmLayoutUsed !== layout }));
      progress(`phase=wait-agent port=${this.port}`);
      let stream = await this.waitForAgent(handle, layout, deadline);
      if (snapshots && freshDisk && !findSnapshot(snapshots.cacheDir, snapshots.key)) {
        // Nothing has been said on this connection; the saved state must hold none (a restore resets vsock anyway).
        stream.destroy();
        await this.saveBootSnapshot(client, snapshots, progress);
        stream = await this.waitForAgent(handle, layout, deadline);
      }
      progress("phase=activate");
      const session = await AgentClient.connect(stream, { helloTimeoutMs: Math.max(1000, Math.min(10_000, deadline - Date.now())), clientName: CLIENT });
      try {
        await activateGuest(session, { hostname: spec.hostname, environmentName: spec.environment.name, resumable: false });
      } finally {
        await session.close();
      }
      progress("phase=ready");
      return handle;
    } catch (error) {
      await this.kill(handle);
      throw await withConsole(toPyroError(error), layout);
    }
  }

  /**
   * Forward `127.0.0.1:host_port` to each guest port: the stack's host forward
   * into the machine namespace, then its DNAT to the guest (src/net/guest-tap.ts).
   */
  async publishPorts(spec: MachineSpec, handle: MachineHandle, ports: PublishedPort[]): Promise<void> {
    if (spec.network !== "egress+published-ports" || typeof handle.slirpPid !== "number") {
      throw new PyroError("failed_precondition", `machine ${spec.id} was started without network policy egress+published-ports`, {
        hint: "create it with --network-policy egress+published-ports",
      });
    }
    for (const port of ports) await slirpForward(networkFiles(spec.dir).slirpSocket, port.host_port, port.guest_port);
  }

  /** Open a fresh vsock connection to the agent of a running machine. */
  async connect(spec: MachineSpec, handle: MachineHandle): Promise<Duplex> {
    if (!this.isRunning(handle)) {
      throw new PyroError("failed_precondition", `firecracker for ${spec.id} is not running (pid ${handle.pid})`, {
        hint: "start the machine again",
        details: { pid: handle.pid },
      });
    }
    return connectVsock(this.vsockPathOf(spec, handle), this.port, { timeoutMs: VSOCK_HANDSHAKE_TIMEOUT_MS });
  }

  /** Whether the Firecracker process of the handle is alive (pid and start time match). */
  isRunning(handle: MachineHandle): boolean {
    return isProcessAlive(handle.pid, handle.pidStartTime);
  }

  /**
   * Wait for the guest to power off (the caller already asked the agent), then
   * send Ctrl+Alt+Del (the guest reboots, which ends Firecracker with
   * `reboot=k`), then SIGKILL once `graceMs` has passed.
   */
  async stop(spec: MachineSpec, handle: MachineHandle, graceMs: number): Promise<void> {
    if (!this.isRunning(handle)) return;
    const deadline = Date.now() + graceMs;
    if (await waitForExit(handle.pid, handle.pidStartTime, Math.floor(graceMs / 2))) return;
    const remaining = (): number => Math.max(0, deadline - Date.now());
    try {
      const client = new FirecrackerApiClient(this.apiPathOf(spec, handle), { timeoutMs: Math.max(1, Math.min(2000, remaining())) });
      await client.sendCtrlAltDel();
    } catch {
      // The API may already be gone or hung; the kill below still ends it.
    }
    if (await waitForExit(handle.pid, handle.pidStartTime, remaining())) return;
    await this.kill(handle);
  }

  /** SIGKILL the Firecracker process (and its user-mode stack) and wait until it is gone. */
  async kill(handle: MachineHandle): Promise<void> {
    signalProcess(handle.pid, "SIGKILL", handle.pidStartTime);
    if (typeof handle.slirpPid === "number") signalProcess(handle.slirpPid, "SIGKILL", handle.slirpPidStartTime as string | undefined);
    await waitForExit(handle.pid, handle.pidStartTime, 5000);
  }

  /**
   * Remove sockets, the jail and the per-VM root disk. Logs stay. Call it when
   * the machine is deleted, not on a workspace stop: the root disk is its state.
   */
  rootDiskImage(spec: MachineSpec): string | null {
    const { rootDisk } = vmLayout(spec.dir, spec.id);
    return existsSync(rootDisk) ? rootDisk : null;
  }

  async cleanup(spec: MachineSpec): Promise<void> {
    const layout = vmLayout(spec.dir, spec.id);
    await removeStaleSockets(layout);
    await rm(layout.rootDisk, { force: true });
    await rm(join(spec.dir, VM_FILES.jailBase), { recursive: true, force: true });
    await rm(networkFiles(spec.dir).slirpSocket, { force: true });
  }

  /**
   * Start the VMM inside a network namespace of its own (src/net): slirp4netns
   * behind the egress filter, then the guest's TAP, forwarding and NAT
   * (src/net/guest-tap.ts), all inside that namespace; nothing in the host's.
   */
  private async spawnNetworked(
    spec: MachineSpec,
    layout: VmLayout,
    tap: string,
    file: string,
    args: string[],
    owner: { uid: number; gid: number } | undefined,
    deadline: number,
  ): Promise<{ pid: number; startTime?: string; slirp: { pid: number; startTime: string | undefined } }> {
    const files = networkFiles(spec.dir);
    const rulesFile = files.rulesFile;
    await writeFile(rulesFile, egressRuleset(), { mode: 0o600 });
    const guestRules = await prepareGuestTapRules(join(spec.dir, VM_FILES.guestRules), tap, {}, { publish: spec.network === "egress+published-ports" });
    await rm(files.slirpSocket, { force: true });
    const started = await spawnInNetNamespace(file, args, {
      rulesFile,
      stages: guestTapStage(tap, guestRules, owner),
      slirpSocket: files.slirpSocket,
      slirpLog: files.slirpLog,
      stdoutPath: layout.consoleFile,
      stderrPath: layout.stderrFile,
      cwd: spec.dir,
      env: this.env,
      timeoutMs: Math.max(1000, deadline - Date.now()),
    });
    return { pid: started.pid, ...(started.startTime ? { startTime: started.startTime } : {}), slirp: started.slirp };
  }

  /** Where the boot snapshot of `spec`'s shape belongs, when it can have one. */
  private snapshotTarget(spec: MachineSpec, firecracker: string, kernel: VmmKernel): { cacheDir: string; key: string; sources: FileStamp[] } | undefined {
    const cacheDir = spec.environment.cacheDir;
    if (!cacheDir || spec.publishedPorts.length > 0) return undefined;
    try {
      return { cacheDir, ...firecrackerSnapshotKey(spec, firecracker, kernel, this.port) };
    } catch {
      return undefined;
    }
  }

  /**
   * Save the boot snapshot of a machine that has booted and is not yet
   * activated (snapshot.ts). A failure costs only the snapshot: it is
   * reported and the machine runs on.
   */
  private async saveBootSnapshot(client: FirecrackerApiClient, target: { cacheDir: string; key: string; sources: FileStamp[] }, progress: (message: string) => void): Promise<void> {
    const started = Date.now();
    const draft = await draftSnapshot(target.cacheDir, target.key, "firecracker", target.sources).catch(() => undefined);
    if (!draft) return;
    try {
      await draft.publish(await saveBootSnapshot(client, draft.dir));
      progress(`phase=snapshot-saved snapshot=${target.key} duration_ms=${Date.now() - started}`);
    } catch (error) {
      await draft.abandon();
      progress(`phase=snapshot-failed error=${JSON.stringify(toPyroError(error).message.split("\n")[0])}`);
    }
  }

  private get port(): number {
    return this.options.agentPort ?? AGENT_VSOCK_PORT;
  }

  private kernelOf(spec: MachineSpec): { vmlinux: string; initramfs?: string } {
    const kernel = spec.environment.kernel;
    if (!kernel?.vmlinux || !existsSync(kernel.vmlinux)) {
      throw new PyroError("unavailable", `environment ${spec.environment.name} has no uncompressed vmlinux for firecracker`, {
        hint: "firecracker boots only an ELF vmlinux: re-pull the environment (pyro env pull) so it extracts one, or use the qemu backend; see docs/firecracker.md",
        details: { environment: spec.environment.name, ...(kernel?.vmlinux ? { vmlinux: kernel.vmlinux } : {}) },
      });
    }
    return { vmlinux: kernel.vmlinux, ...(kernel.initramfs ? { initramfs: kernel.initramfs } : {}) };
  }

  private requireBinary(name: string, envVar: string, override: string | undefined): string {
    const found = findBinary(name, override, this.env);
    if (found) return found;
    throw new PyroError("unavailable", `no ${name} binary found (${envVar} or PATH)`, {
      hint: `download the firecracker release archive (it holds firecracker and jailer) and set ${envVar}; see docs/firecracker.md`,
      details: { binary: name, env_var: envVar },
    });
  }

  private jailerIds(): { uid: number; gid: number } {
    return {
      uid: this.options.jailerUid ?? this.config.firecracker.jailerUid ?? 65534,
      gid: this.options.jailerGid ?? this.config.firecracker.jailerGid ?? 65534,
    };
  }

  private tapFor(spec: MachineSpec): string {
    const tap = this.options.tapDevice ? this.options.tapDevice(spec) : this.capabilities.guest_network ? tapDeviceName(spec.id) : undefined;
    if (tap) return tap;
    throw new PyroError("unavailable", "guest networking with firecracker needs a TAP device, which needs root", {
      hint: "run pyro as root (with the jailer) or create the machine without network",
      details: { network: spec.network },
    });
  }

  private layoutOf(spec: MachineSpec, firecrackerBin: string): VmLayout {
    return vmLayout(spec.dir, spec.id, this.jailed ? jailedExecName(firecrackerBin) : undefined);
  }

  private vsockPathOf(spec: MachineSpec, handle: MachineHandle): string {
    return typeof handle.vsock_socket === "string" ? handle.vsock_socket : vmLayout(spec.dir, spec.id).vsockSocket;
  }

  private apiPathOf(spec: MachineSpec, handle: MachineHandle): string {
    return typeof handle.api_socket === "string" ? handle.api_socket : vmLayout(spec.dir, spec.id).apiSocket;
  }

  private async waitForApi(client: FirecrackerApiClient, handle: FirecrackerHandle, layout: VmLayout, until: number): Promise<void> {
    for (;;) {
      if (existsSync(layout.apiSocket)) {
        try {
          await client.describeInstance();
          return;
        } catch {
          // not answering yet
        }
      }
      if (!this.isRunning(handle)) {
        throw new PyroError("guest_failure", `firecracker exited before its API came up (pid ${handle.pid})`, {
          hint: "read firecracker's stderr above: a bad flag, a socket path in use, or a binary for another architecture",
        });
      }
      if (Date.now() >= until) {
        throw new PyroError("timeout", `firecracker API socket ${layout.apiSocket} did not come up`, {
          hint: "firecracker is running but its API server is not answering; read its stderr above",
        });
      }
      await sleep(10);
    }
  }

  private async waitForAgent(handle: FirecrackerHandle, layout: VmLayout, deadline: number): Promise<Duplex> {
    let last: unknown;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        return await connectVsock(layout.vsockSocket, this.port, { timeoutMs: Math.min(VSOCK_HANDSHAKE_TIMEOUT_MS, left) });
      } catch (error) {
        last = error;
      }
      if (!this.isRunning(handle)) {
        throw new PyroError("guest_failure", "the guest stopped before its agent answered", {
          hint: "the guest kernel or init failed (or KVM cannot run it): the console lines above show why",
        });
      }
      await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
    }
    throw new PyroError("timeout", `the guest agent did not accept vsock port ${this.port} before the boot timeout`, {
      hint: "the guest may be too slow or its init failed: read the console lines above, or raise the boot timeout",
      details: { last_error: last instanceof Error ? last.message : String(last) },
    });
  }
}

async function removeStaleSockets(layout: VmLayout): Promise<void> {
  await rm(layout.apiSocket, { force: true });
  await rm(layout.vsockSocket, { force: true });
}

/** Hints of a failed start, by error code: they point at the lines the error carries, not at files (delete removes them). */
const START_HINTS: Partial<Record<PyroError["code"], string>> = {
  timeout: "the guest is slow or its init failed: read the firecracker and console lines above, or raise the boot timeout",
  guest_failure: "read the firecracker and console lines above; re-pull the environment (pyro env pull) if its kernel or image is damaged",
};

/**
 * The start error with the tails of Firecracker's stderr, its log and the
 * guest console in its message (as the qemu backend does): the machine's
 * directory, where those files are, is gone once the failed machine is
 * deleted, so a hint that points there would point at nothing.
 */
async function withConsole(error: PyroError, layout: VmLayout): Promise<PyroError> {
  const consoleTail = await logTail(layout.consoleFile, { lines: 20, maxBytes: 3000 });
  const log = await logTail(layout.logFile, { lines: 10, maxBytes: 2000 });
  const stderr = await logTail(layout.stderrFile, { lines: 10, maxBytes: 2000 });
  const parts = [error.message];
  if (stderr) parts.push(`firecracker stderr:\n${stderr}`);
  if (log) parts.push(`firecracker log:\n${log}`);
  parts.push(consoleTail ? `last console lines:\n${consoleTail}` : "the console is empty");
  const hint = error.hint && !error.hint.includes("VM directory") ? error.hint : START_HINTS[error.code] ?? START_HINTS.guest_failure;
  return new PyroError(error.code, parts.join("\n"), {
    ...(hint ? { hint } : {}),
    details: { ...(error.details ?? {}), ...(consoleTail ? { console: consoleTail } : {}), ...(log ? { firecracker_log: log } : {}), ...(stderr ? { stderr } : {}) },
    cause: error,
  });
}
