import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, lstatSync, mkdirSync, openSync } from "node:fs";
import { chmod, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { PyroError } from "../../util/errors.js";
import { logTail } from "../../util/log-tail.js";
import { resolveConfig, type PyroConfig } from "../../util/config.js";
import { isProcessAlive, processStartTime, signalProcess, waitFor } from "../../util/process.js";
import { NET_SIGNAL_FD, networkFiles, networkSupport, prepareNetworkFiles, reforward, slirpForward, SLIRP_GUEST, startSlirp } from "../../net/index.js";
import type { Backend, BackendAvailability, MachineHandle, MachineSpec, PublishedPort, StartOptions } from "../backend.js";
import { SANDBOX_READY_FD, sandboxCommand, sandboxPaths } from "./command.js";
import { removeMachineCgroup } from "./cgroup.js";
import { describeSandboxLimits, prepareSandboxLimits } from "./limits.js";

/** What the sandbox backend persists in a record. */
interface SandboxHandle extends MachineHandle {
  backend: "sandbox";
  /** Host pid of the agent (PID 1 of the sandbox's pid namespace). */
  agentPid: number;
  agentPidStartTime?: string;
  /** Inode of the agent socket the launcher bound; connect refuses any other file. */
  socketInode?: number;
  /** The machine's cgroup directories (limits.ts), removed once it is dead. */
  cgroups?: string[];
  /** The user-mode network stack of a networked sandbox (it also exits by itself with the machine). */
  slirpPid?: number;
  slirpPidStartTime?: string;
}

function asSandboxHandle(handle: MachineHandle): SandboxHandle {
  return handle as SandboxHandle;
}

/** Exit of each launcher this process spawned, so `kill` need not poll for it. */
const launcherExits = new Map<number, Promise<void>>();

/**
 * Host-compat mode: Linux namespaces (bubblewrap) over the environment's rootfs
 * with a private writable overlay, the guest agent as PID 1. No guest kernel.
 */
export class SandboxBackend implements Backend {
  readonly name = "sandbox" as const;
  readonly capabilities = {
    vm_boot: false,
    guest_exec: true,
    guest_network: true,
    disk_tools: false,
    vsock: false,
    execution_mode: "host_compat",
    warm_spares: true,
  } as const;
  private readonly config: PyroConfig;

  /** `config` gives the agent binary to run (default: resolved from `process.env`). */
  constructor(options: { config?: PyroConfig } = {}) {
    this.config = options.config ?? resolveConfig();
  }

  async availability(): Promise<BackendAvailability> {
    const missing = ["bwrap", "unshare"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
    if (missing.length > 0) {
      return {
        usable: false,
        reason: `missing ${missing.join(" and ")}`,
        fix: "apt-get install bubblewrap util-linux",
        details: {},
      };
    }
    return { usable: true, details: { isolation: "namespaces (bubblewrap)", root: process.getuid?.() === 0, limits: describeSandboxLimits(), network: networkSupport() } };
  }

  async start(spec: MachineSpec, options: StartOptions): Promise<MachineHandle> {
    const paths = sandboxPaths(spec.dir);
    for (const dir of [paths.upper, paths.work, paths.merged, paths.agentDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    await chmod(paths.agentDir, 0o700);
    const agent = this.config.agent.bin;
    if (!existsSync(agent)) {
      throw new PyroError("unavailable", `the guest agent binary is missing at ${agent}`, {
        hint: "build it with `npm run build:agent` (needs Go), or set PYRO_AGENT_BIN",
      });
    }
    const limits = await prepareSandboxLimits(spec);
    // A networked sandbox gets a namespace of its own whose only way out is slirp4netns, filtered (src/net).
    const net = spec.network === "off" ? undefined : await prepareNetworkFiles(spec.dir, spec.allow);
    const [command, ...args] = sandboxCommand(spec, agent, { tiedToCaller: options.tiedToCaller ?? false, limits, net });
    const log = openSync(paths.log, "a", 0o600);
    const child = spawn(command!, args, { detached: true, stdio: ["ignore", log, log, "pipe", "pipe", ...(net ? (["ignore", "pipe"] as const) : [])] });
    closeSync(log);
    child.unref();
    const launcherPid = child.pid;
    if (launcherPid !== undefined) {
      launcherExits.set(launcherPid, new Promise<void>((resolve) => child.once("exit", () => resolve())).finally(() => launcherExits.delete(launcherPid)));
    }
    const readyStream = child.stdio[SANDBOX_READY_FD] as Socket;
    const ready = readLine(readyStream, options.bootTimeoutMs);
    // The stack attaches while bwrap waits behind the namespace stage; a failure shows as bwrap never starting.
    const slirp =
      net && launcherPid !== undefined
        ? startSlirp({ targetPid: launcherPid, signal: (child.stdio as unknown as Socket[])[NET_SIGNAL_FD]!, apiSocket: networkFiles(spec.dir).slirpSocket, log: networkFiles(spec.dir).slirpLog, timeoutMs: options.bootTimeoutMs }).catch(
            (error: unknown) => error as Error,
          )
        : undefined;
    const childPid = await readChildPid(child.stdio[3] as Socket, options.bootTimeoutMs).catch(() => undefined);
    const stack = await slirp;
    if (launcherPid === undefined || childPid === undefined || stack instanceof Error) {
      readyStream.destroy();
      if (launcherPid !== undefined) signalProcess(launcherPid, "SIGKILL");
      if (launcherPid !== undefined) await waitFor(() => !isProcessAlive(launcherPid), 2000, 5);
      await removeMachineCgroup(limits.cgroupDirs);
      if (stack && !(stack instanceof Error)) signalProcess(stack.pid, "SIGKILL", stack.startTime);
      const why = stack instanceof Error ? `${stack.message}; ` : "";
      throw new PyroError("guest_failure", `the sandbox did not start: ${why}${(await logTail(paths.log)) || "(no output)"}`, {
        hint: "run `pyro doctor`; the sandbox needs bubblewrap and overlayfs",
      });
    }
    const handle: SandboxHandle = {
      backend: "sandbox",
      pid: launcherPid,
      pidStartTime: processStartTime(launcherPid),
      agentPid: childPid,
      agentPidStartTime: processStartTime(childPid),
      limits: limits.enforced,
      cgroups: limits.cgroupDirs,
      ...(stack ? { slirpPid: stack.pid, slirpPidStartTime: stack.startTime, guest_ip: SLIRP_GUEST.address } : {}),
    };
    if ((await ready) !== "READY") {
      await this.kill(handle);
      throw new PyroError("guest_failure", `the sandbox agent did not come up: ${(await logTail(paths.log)) || "(no output)"}`, {
        hint: "check that the environment's rootfs is intact (`pyro env inspect`)",
      });
    }
    handle.socketInode = lstatSync(paths.socket).ino;
    // A restarted or reset workspace keeps the ports it published: forward them again.
    if (spec.network === "egress+published-ports" && spec.publishedPorts.length > 0) {
      try {
        await reforward(spec.publishedPorts, (port) => this.publishPorts(spec, handle, spec.publishedPorts.filter((p) => p.host_port === port)));
      } catch (error) {
        await this.kill(handle);
        throw error;
      }
    }
    return handle;
  }

  async connect(spec: MachineSpec, handle: MachineHandle): Promise<Duplex> {
    if (!this.isRunning(handle)) throw deadError(spec);
    const path = sandboxPaths(spec.dir).socket;
    checkAgentSocket(spec, path, asSandboxHandle(handle).socketInode);
    return connectUnix(path);
  }

  isRunning(handle: MachineHandle): boolean {
    const h = asSandboxHandle(handle);
    return isProcessAlive(h.pid, h.pidStartTime) && isProcessAlive(h.agentPid, h.agentPidStartTime);
  }

  async stop(_spec: MachineSpec, handle: MachineHandle, graceMs: number): Promise<void> {
    const h = asSandboxHandle(handle);
    // bwrap gone is the machine gone only when its agent went with it: a bwrap killed
    // from outside leaves the agent (the namespace's PID 1) running (the fault matrix).
    if ((await waitFor(() => !isProcessAlive(h.pid, h.pidStartTime), graceMs, 5)) && !isProcessAlive(h.agentPid, h.agentPidStartTime)) return;
    await this.kill(handle);
  }

  async kill(handle: MachineHandle): Promise<void> {
    const h = asSandboxHandle(handle);
    // Killing PID 1 of the pid namespace takes every process inside with it.
    if (isProcessAlive(h.agentPid, h.agentPidStartTime)) signalProcess(h.agentPid, "SIGKILL");
    if (isProcessAlive(h.pid, h.pidStartTime)) signalProcess(h.pid, "SIGKILL");
    // A launcher this process spawned reports its exit, so the poll below ends at its first look.
    const exit = launcherExits.get(h.pid);
    if (exit) {
      const timer = new AbortController();
      await Promise.race([exit, sleep(2000, undefined, { signal: timer.signal }).catch(() => undefined)]);
      timer.abort();
    }
    await waitFor(() => !isProcessAlive(h.pid, h.pidStartTime), 2000, 5);
    // It would exit by itself once the machine's last process is gone; a kill should not wait for that.
    if (h.slirpPid) signalProcess(h.slirpPid, "SIGKILL", h.slirpPidStartTime);
    await removeMachineCgroup(h.cgroups ?? []);
  }

  /** Forward `127.0.0.1:host_port` to each guest port, through the sandbox's user-mode stack. */
  async publishPorts(spec: MachineSpec, handle: MachineHandle, ports: PublishedPort[]): Promise<void> {
    if (spec.network !== "egress+published-ports" || !asSandboxHandle(handle).slirpPid) {
      throw new PyroError("failed_precondition", `machine ${spec.id} was started without network policy egress+published-ports`, {
        hint: "create it with --network-policy egress+published-ports",
      });
    }
    for (const port of ports) await slirpForward(networkFiles(spec.dir).slirpSocket, port.host_port, port.guest_port);
  }

  async cleanup(spec: MachineSpec): Promise<void> {
    const paths = sandboxPaths(spec.dir);
    await Promise.all([paths.upper, paths.work, paths.merged, paths.agentDir].map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/**
 * Refuse to connect unless `path` is still the very socket the launcher bound:
 * never a symlink (connect would follow it), never another file.
 */
function checkAgentSocket(spec: MachineSpec, path: string, inode: number | undefined): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    throw new PyroError("guest_failure", `machine ${spec.id} has no agent socket at ${path}: ${(error as Error).message}`, {
      hint: "delete it (or reset the workspace) to recover",
    });
  }
  if (!stat.isSocket() || (inode !== undefined && stat.ino !== inode)) {
    throw new PyroError("guest_failure", `the agent socket of machine ${spec.id} is not the socket pyro made (${path}); refusing to connect`, {
      hint: "something replaced it; delete the machine (or reset the workspace) to recover",
    });
  }
}

function deadError(spec: MachineSpec): PyroError {
  return new PyroError("guest_failure", `machine ${spec.id} is not running (its sandbox process exited)`, {
    hint: "check its status; delete it, or reset/start it again",
  });
}

/**
 * bwrap writes `{ "child-pid": N, … }` to its info fd, then closes it. Read to
 * EOF: closing our end early would kill bwrap with SIGPIPE mid-write.
 */
function readChildPid(stream: Socket, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error("timed out waiting for bwrap"));
    }, timeoutMs);
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (text += chunk));
    stream.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.on("end", () => {
      clearTimeout(timer);
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
      else reject(new Error("bwrap exited before reporting its child"));
    });
  });
}

/**
 * The first line on `stream` (the agent's ready fd), or null at EOF or
 * timeout: an agent that dies before serving closes the pipe.
 */
function readLine(stream: Socket, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let text = "";
    const finish = (line: string | null): void => {
      clearTimeout(timer);
      stream.removeAllListeners("data");
      stream.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
      const end = text.indexOf("\n");
      if (end >= 0) finish(text.slice(0, end));
      else if (text.length > 256) finish(null);
    });
    stream.on("error", () => finish(null));
    stream.on("end", () => finish(null));
  });
}

function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

