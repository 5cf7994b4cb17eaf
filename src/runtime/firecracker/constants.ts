/**
 * Constants shared by the Firecracker backend and the guest side (the agent
 * listens on {@link AGENT_VSOCK_PORT} inside the guest).
 */

/** Guest vsock port the pyro agent listens on. The guest init must use the same value. */
export const AGENT_VSOCK_PORT = 10000;

/** Context id of the guest; 3 is the first id available to guests. */
export const GUEST_CID = 3;

/** Id of the root drive in the Firecracker API. */
export const ROOT_DRIVE_ID = "rootfs";

/** Id of the (optional) network interface in the Firecracker API. */
export const NET_IFACE_ID = "eth0";

/** Files the backend keeps in a machine's directory. */
export const VM_FILES = {
  /** Firecracker API socket (plain mode). */
  apiSocket: "firecracker.api.sock",
  /** Host side of the guest vsock device (plain mode). */
  vsockSocket: "firecracker.vsock.sock",
  /** The per-VM writable copy of the environment's root image. */
  rootDisk: "rootfs.ext4",
  /** Firecracker's own log (PUT /logger). */
  log: "firecracker.log",
  /** Firecracker's metrics (PUT /metrics). */
  metrics: "firecracker.metrics.json",
  /** Firecracker's stdout: the guest serial console. */
  console: "console.log",
  /** Firecracker's stderr. */
  stderr: "firecracker.stderr.log",
  /** Base directory handed to the jailer (`--chroot-base-dir`). */
  jailBase: "jail",
  /** The guest TAP's forward filter and NAT (src/net/guest-tap.ts), when networked. */
  guestRules: "guest-tap.nft",
} as const;

/** Names of files inside the jailer chroot (paths the jailed Firecracker sees). */
export const JAIL_FILES = {
  apiSocket: "api.sock",
  vsockSocket: "v.sock",
  kernel: "vmlinux",
  initrd: "initrd.img",
  rootDisk: "rootfs.ext4",
  log: "firecracker.log",
  metrics: "metrics.json",
} as const;

/** How long one API request may take before it is abandoned. */
export const API_REQUEST_TIMEOUT_MS = 10_000;

/** How long one vsock CONNECT handshake may take. */
export const VSOCK_HANDSHAKE_TIMEOUT_MS = 2_000;

/** Longest `OK <port>\n` line we accept before calling the answer garbage. */
export const VSOCK_MAX_ANSWER_BYTES = 64;
