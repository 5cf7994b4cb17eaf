import { readFileSync } from "node:fs";
import { spawnInNetNamespace, type NetStageOptions, type SlirpProcess } from "../../net/index.js";
import { spawnDetached, type DetachedProcess } from "../../util/process.js";

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
export function spawnQemuInNamespace(
  qemu: string,
  args: string[],
  logPath: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  net: QemuNet,
): Promise<DetachedProcess & { slirp: SlirpProcess }> {
  return spawnInNetNamespace("/bin/sh", ["-c", 'umask 077 && exec "$0" "$@"', qemu, ...args], {
    stage: net.stage,
    // A mount namespace of its own, so that QEMU's /etc/resolv.conf can be the machine's (the stage binds it).
    mountNamespace: true,
    slirpSocket: net.slirpSocket,
    slirpLog: net.slirpLog,
    stdoutPath: logPath,
    stderrPath: logPath,
    cwd,
    env,
    timeoutMs: net.timeoutMs,
  });
}
