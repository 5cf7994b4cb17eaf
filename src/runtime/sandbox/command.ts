import type { MachineSpec } from "../backend.js";

/** Where the agent's socket directory appears inside the sandbox. */
export const GUEST_AGENT_DIR = "/run/pyro-agent";
/** Where the host's agent binary is bound inside the sandbox. */
export const GUEST_AGENT_BIN = "/usr/local/sbin/pyro-agent";

/** The launcher's fd that bwrap's child inherits and the agent announces `READY` on. */
export const SANDBOX_READY_FD = 4;

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
 * The argv that starts one sandbox: `unshare` for the mount namespace, a
 * one-line launcher for the overlay, then bwrap with the agent as PID 1.
 * bwrap writes `{"child-pid": N}` to fd 3 (`--info-fd`); the agent writes
 * `READY` to fd 4 once it serves ({@link SANDBOX_READY_FD}).
 */
export function sandboxCommand(spec: MachineSpec, agentBinary: string, options: { tiedToCaller?: boolean; limits?: LauncherLimits } = {}): string[] {
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
    "--bind", paths.agentDir, GUEST_AGENT_DIR,
    "--ro-bind", agentBinary, GUEST_AGENT_BIN,
    "--unshare-all",
    "--unshare-user",
    ...(spec.network === "off" ? [] : ["--share-net"]),
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
    GUEST_AGENT_BIN, "--sandbox", "--listen", `unix:${GUEST_AGENT_DIR}/agent.sock`, "--ready-fd", String(SANDBOX_READY_FD),
  ];
  return [
    "unshare",
    ...(asRoot ? [] : ["--user", "--map-root-user"]),
    "--mount",
    "--propagation", "private",
    "/bin/sh", "-c", LAUNCHER, "pyro-sandbox",
    String(limits.cgroupProcs.length), ...limits.cgroupProcs,
    spec.environment.rootfsDir, paths.upper, paths.work, paths.merged,
    ...limits.prefix,
    ...bwrap,
  ];
}
