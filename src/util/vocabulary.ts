/**
 * The words pyro's layers share, each defined once. The contract builds its
 * zod enums from these arrays (`z.enum(BACKEND_NAMES)`), and runtime, core
 * and protocol derive their types from them (`(typeof BACKEND_NAMES)[number]`).
 *
 * They live in `util/`, the lowest layer, because every layer needs some of
 * them and `protocol/` may import nothing above `util/`; the contract
 * re-exports them, as it does the error codes, so the public API has one name
 * for each.
 */

/** The machine engines pyro can drive. */
export const BACKEND_NAMES = ["firecracker", "qemu", "sandbox"] as const;
/** One of {@link BACKEND_NAMES}. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * How a command reaches the guest agent, as results report it: over vsock
 * (Firecracker), a virtio-serial port (QEMU), or a Unix socket into a
 * namespace sandbox on the host kernel (host compat).
 */
export const EXECUTION_MODES = ["guest_vsock", "guest_serial", "host_compat"] as const;
/** One of {@link EXECUTION_MODES}. */
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

/**
 * A machine's network access: none, outbound only, or outbound plus host
 * ports published on 127.0.0.1.
 *
 * The one network concept of pyro, and how each of its public shapes maps to it:
 * - `network_policy` (workspace_create, workspace status): this policy itself.
 * - `network` (boolean of vm_run / vm_create / vm_status): `true` is `egress`,
 *   `false` is `off` ({@link networkPolicyOf}); VMs never publish ports.
 * - `vm_network_info`: `network_enabled` is the boolean, `policy` the policy it maps to.
 * - `MachineSpec.network` (runtime): the policy the backend must give the machine.
 * - the `guest_network` capability (backends, `doctor`): whether a backend can
 *   give a guest any policy but `off`.
 */
export const NETWORK_POLICIES = ["off", "egress", "egress+published-ports"] as const;
/** One of {@link NETWORK_POLICIES}. */
export type NetworkPolicy = (typeof NETWORK_POLICIES)[number];

/** The policy of a VM created with the `network` boolean of vm_run / vm_create. */
export function networkPolicyOf(network: boolean): NetworkPolicy {
  return network ? "egress" : "off";
}

/** Whether a policy gives the guest outbound access. */
export function allowsEgress(policy: NetworkPolicy): boolean {
  return policy !== "off";
}

/** Whether a policy lets host ports be published into the guest. */
export function allowsPublishedPorts(policy: NetworkPolicy): boolean {
  return policy === "egress+published-ports";
}

/** The states of a VM record. */
export const VM_STATES = ["created", "running", "stopped", "dead"] as const;
/** One of {@link VM_STATES}. */
export type VmState = (typeof VM_STATES)[number];

/** The states of a workspace record (`creating` until its baseline exists). */
export const WORKSPACE_STATES = ["creating", "running", "paused", "stopped", "dead"] as const;
/** One of {@link WORKSPACE_STATES}. */
export type WorkspaceState = (typeof WORKSPACE_STATES)[number];

/** The states of a background command (`lost`: its machine went away before its end was seen). */
export const COMMAND_STATES = ["running", "exited", "killed", "lost"] as const;
/** One of {@link COMMAND_STATES}. */
export type CommandState = (typeof COMMAND_STATES)[number];

/** How a workspace's `/workspace` began. */
export const SEED_MODES = ["empty", "directory", "archive"] as const;
/** One of {@link SEED_MODES}. */
export type SeedMode = (typeof SEED_MODES)[number];

/** Where a workspace secret's value came from. */
export const SECRET_SOURCES = ["literal", "file"] as const;
/** One of {@link SECRET_SOURCES}. */
export type SecretSource = (typeof SECRET_SOURCES)[number];

/** Signals a guest process or shell may be sent (shell_signal, the agent's `signal` op). */
export const SIGNAL_NAMES = ["INT", "TERM", "KILL", "HUP", "QUIT", "USR1", "USR2"] as const;
/** One of {@link SIGNAL_NAMES}. */
export type SignalName = (typeof SIGNAL_NAMES)[number];

/** How a machine's memory is held to `mem_mib`: the guest's own memory, a memory cgroup, or not at all. */
export const MEMORY_ENFORCEMENTS = ["vm", "cgroup", "none"] as const;
/** One of {@link MEMORY_ENFORCEMENTS}. */
export type MemoryEnforcement = (typeof MEMORY_ENFORCEMENTS)[number];
/** How a machine's CPUs are held to `vcpu_count`: the guest's vCPUs, a CPU quota, pinned CPUs only (not a hard cap), or not at all. */
export const CPU_ENFORCEMENTS = ["vm", "cgroup", "affinity", "none"] as const;
/** One of {@link CPU_ENFORCEMENTS}. */
export type CpuEnforcement = (typeof CPU_ENFORCEMENTS)[number];
