import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { NET_SIGNAL_FD, netStage, startSlirp, type NetStageOptions, type SlirpProcess } from "../../net/index.js";
import { PyroError } from "../../util/errors.js";
import { processStartTime, signalProcess, spawnDetached, type DetachedProcess } from "../../util/process.js";

/**
 * Start QEMU detached (own session, survives the caller), stdin from
 * /dev/null, stdout and stderr into `logPath`. It runs under `umask 077` so
 * every socket and file it creates is private (0600) from the first instant.
 */
export function spawnQemu(qemu: string, args: string[], logPath: string, cwd: string, env: NodeJS.ProcessEnv): Promise<DetachedProcess> {
  return spawnDetached("/bin/sh", ["-c", 'umask 077 && exec "$0" "$@"', qemu, ...args], {
    stdoutPath: logPath,
    stderrPath: logPath,
    cwd,
    env,
    hint: "check PYRO_QEMU_BIN / that qemu-system-x86_64 is installed",
  });
}

/** The pid in a QEMU `-pidfile`, or undefined. */
export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` has `needle` among its command-line arguments. */
export function commandLineMentions(pid: number, needle: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").some((arg) => arg.includes(needle));
  } catch {
    return false;
  }
}

/** A networked QEMU's own namespace (see src/net). */
export interface QemuNet {
  /** What the namespace stage sets up: the filter, QEMU's resolv.conf, the allow-list resolver. */
  stage: NetStageOptions;
  slirpSocket: string;
  slirpLog: string;
  timeoutMs: number;
}

/**
 * Start QEMU detached inside a network namespace of its own, whose only way
 * out is slirp4netns behind the egress filter: QEMU's user-mode network then
 * maps 10.0.2.2 to that namespace's loopback, never the host's. Resolves once
 * the stack is attached (QEMU starts right after).
 */
export async function spawnQemuInNamespace(
  qemu: string,
  args: string[],
  logPath: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  net: QemuNet,
): Promise<DetachedProcess & { slirp: SlirpProcess }> {
  const asRoot = process.getuid?.() === 0;
  const argv = [
    ...(asRoot ? [] : ["--user", "--map-root-user"]),
    "--net",
    // A mount namespace of its own, so that QEMU's /etc/resolv.conf can be the machine's (netStage binds it).
    "--mount",
    "--propagation", "private",
    ...netStage(net.stage),
    "/bin/sh", "-c", 'umask 077 && exec "$0" "$@"', qemu, ...args,
  ];
  const log = openSync(logPath, "a", 0o600);
  let child;
  try {
    child = spawn("unshare", argv, { detached: true, cwd, env, stdio: ["ignore", log, log, "ignore", "ignore", "ignore", "pipe"] });
  } finally {
    closeSync(log);
  }
  const pid = await new Promise<number>((resolve, reject) => {
    child.once("error", (error) => reject(new PyroError("unavailable", `cannot start unshare for QEMU: ${error.message}`, { hint: "apt-get install util-linux" })));
    child.once("spawn", () => resolve(child.pid!));
  });
  child.unref();
  const startTime = processStartTime(pid);
  try {
    const slirp = await startSlirp({ targetPid: pid, signal: (child.stdio as unknown as Socket[])[NET_SIGNAL_FD]!, apiSocket: net.slirpSocket, log: net.slirpLog, timeoutMs: net.timeoutMs });
    return { pid, startTime, slirp };
  } catch (error) {
    signalProcess(pid, "SIGKILL", startTime);
    throw error;
  }
}
