import { netStage, type NetworkFiles } from "../../net/index.js";
import type { MachineSpec } from "../backend.js";

/** Where the host's agent binary is bound inside the sandbox. */
export const GUEST_AGENT_BIN = "/usr/local/sbin/pyro-agent";

/** The launcher's fd that bwrap's child inherits and the agent announces `READY` on. */
export const SANDBOX_READY_FD = 4;

/**
 * The fd the agent inherits its listening socket on. The socket is made on
 * the host, in a directory the guest never sees, before the sandbox exists
 * (`pyro-agent --bind-unix`): nothing the guest writes can decide where the
 * host connects.
 */
export const SANDBOX_LISTEN_FD = 5;

/** Host-side layout of one sandbox under its machine directory. */
export function sandboxPaths(dir: string) {
  return {
    upper: `${dir}/upper`,
    work: `${dir}/work`,
    merged: `${dir}/merged`,
    agentDir: `${dir}/agent`,
    socket: `${dir}/agent/agent.sock`,
    log: `${dir}/sandbox.log`,
  };
}

// Joins the machine's cgroups first (N, then N cgroup.procs files), so everything it forks is
// limited; mounts the writable overlay inside a private mount namespace, then becomes bwrap.
// The overlay disappears with the namespace, so a dead sandbox leaks no mount.
const LAUNCHER =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n - 1)); done; ' +
  'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && shift 4 && exec "$@"';

/** What the launcher applies before bwrap (see limits.ts). */
export interface LauncherLimits {
  cgroupProcs: string[];
  prefix: string[];
}

/**
 * The argv that starts one sandbox: the agent binary in its host mode binds
 * the agent socket ({@link SANDBOX_LISTEN_FD}), then `unshare` for the mount
 * namespace, a one-line launcher for the overlay, then bwrap with the agent
 * as PID 1 serving on the inherited socket.
 * bwrap writes `{"child-pid": N}` to fd 3 (`--info-fd`); the agent writes
 * `READY` to fd 4 once it serves ({@link SANDBOX_READY_FD}).
 */
/** A networked sandbox's own namespace (see src/net): its egress filter and resolver files. */
export type SandboxNet = Pick<NetworkFiles, "rulesFile" | "resolvConf" | "resolver">;

export function sandboxCommand(
  spec: MachineSpec,
  agentBinary: string,
  options: { tiedToCaller?: boolean; limits?: LauncherLimits; net?: SandboxNet } = {},
): string[] {
  const limits = options.limits ?? { cgroupProcs: [], prefix: [] };
  const paths = sandboxPaths(spec.dir);
  const asRoot = process.getuid?.() === 0;
  const bwrap = [
    "bwrap",
    "--bind", paths.merged, "/",
    "--proc", "/proc",
    "--dev", "/dev",
    "--tmpfs", "/tmp",
    "--tmpfs", "/run",
    "--ro-bind", agentBinary, GUEST_AGENT_BIN,
    "--unshare-all",
    "--unshare-user",
    // Off: bwrap's own empty namespace. Networked: the machine's namespace the launcher made.
    ...(options.net ? ["--share-net", "--ro-bind", options.net.resolvConf, "/etc/resolv.conf"] : []),
    "--uid", "0",
    "--gid", "0",
    // Capabilities inside the sandbox's own user namespace only.
    "--cap-add", "ALL",
    "--hostname", spec.hostname,
    ...(options.tiedToCaller ? ["--die-with-parent"] : []),
    "--as-pid-1",
    "--new-session",
    "--info-fd", "3",
    "--clearenv",
    "--setenv", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "--setenv", "HOME", "/root",
    "--chdir", "/",
    GUEST_AGENT_BIN, "--sandbox", "--listen", `fd:${SANDBOX_LISTEN_FD}`, "--ready-fd", String(SANDBOX_READY_FD),
  ];
  return [
    agentBinary, "--bind-unix", paths.socket, "--bind-fd", String(SANDBOX_LISTEN_FD), "--",
    "unshare",
    ...(asRoot ? [] : ["--user", "--map-root-user"]),
    ...(options.net ? ["--net"] : []),
    "--mount",
    "--propagation", "private",
    "/bin/sh", "-c", LAUNCHER, "pyro-sandbox",
    String(limits.cgroupProcs.length), ...limits.cgroupProcs,
    spec.environment.rootfsDir, paths.upper, paths.work, paths.merged,
    ...limits.prefix,
    ...(options.net
      ? netStage({ rulesFile: options.net.rulesFile, ...(options.net.resolver ? { resolver: { binary: agentBinary, ...options.net.resolver } } : {}) })
      : []),
    ...bwrap,
  ];
}
