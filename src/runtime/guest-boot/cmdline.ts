import { PyroError } from "../../util/errors.js";

/**
 * The kernel command-line keys pyro's guests read, defined once. Every VM
 * backend renders its command line with {@link renderCmdline}; the readers are
 * the initramfs `/init` (src/environments/kernel/init-script.ts) and the
 * agent (agent/internal/bootargs). protocol/boot/vectors.json pins what each
 * side writes and reads: the TS tests check the backends against it, the Go
 * tests the agent's parser, and test/kernel/init-script-vectors.test.ts the
 * initramfs's.
 */
export const BOOT_KEYS = {
  /** Agent transport: `serial` (virtio-serial ports `pyro.agent.*`, the default) or `vsock:PORT`. Read by the agent. */
  transport: "pyro.transport",
  /** Root read-only, no identity until the host's `activate` op (snapshot-safe boot). Read by the initramfs. */
  activate: "pyro.activate",
  /** `ADDR/PREFIX,GATEWAY,DNS` for eth0; the initramfs configures it, the agent's `activate` writes resolv.conf. */
  net: "pyro.net",
  /** Comma-separated initramfs modules not to load (`virtio_net,...`). Read by the initramfs. */
  skipModules: "pyro.skip_modules",
  /** The program the initramfs hands over to (default `/sbin/pyro-init`). */
  init: "pyro.init",
  /** Comma-separated arguments of that program (default `--serial auto`). */
  initArgs: "pyro.init_args",
  /** Hostname an init agent sets at boot; pyro's backends give it with `activate` instead. Read by the agent. */
  hostname: "pyro.hostname",
  /** `0` turns off the agent's prewarm of `/bin/sh` beside its first worker. */
  prewarm: "pyro.prewarm",
  /** The initramfs only prints `pyro-probe-ok` and powers off (KVM probe, benchmarks). */
  probe: "pyro.probe",
  /** Kernel: the TSC frequency, so an emulated guest skips calibrating it. */
  tscKhz: "tsc_early_khz",
} as const;

/** Where the agent serves the host. */
export type AgentTransport = { kind: "serial" } | { kind: "vsock"; port: number };

/** Static network configuration of eth0 (`pyro.net=`). */
export interface GuestNet {
  /** Address with prefix, e.g. `10.0.2.15/24`. */
  address: string;
  gateway: string;
  dns: string;
}

/** A guest's kernel command line as typed fields; {@link renderCmdline} writes it. */
export interface GuestBootArgs {
  /** Root device and mount mode (`root=/dev/vda ro`); absent for a probe boot without root. */
  root?: { device: string; mode: "ro" | "rw" };
  /** `quiet`: no kernel messages on the console. */
  quiet?: boolean;
  /** `panic=N`: seconds before a panicked kernel reboots (negative: at once). */
  panic: number;
  /** `reboot=t` (triple fault, QEMU's `-no-reboot` exits) or `reboot=k` (keyboard controller, Firecracker exits). */
  reboot?: "t" | "k";
  /** See {@link BOOT_KEYS.activate}. */
  activate?: boolean;
  /** See {@link BOOT_KEYS.tscKhz}. */
  tscKhz?: number;
  /** `pci=off` on machines without PCI (microvm, Firecracker). */
  pciOff?: boolean;
  /** See {@link BOOT_KEYS.skipModules}. */
  skipModules?: readonly string[];
  /** See {@link BOOT_KEYS.net}. */
  net?: GuestNet;
  /** The agent's transport (default serial: what both the initramfs and the agent assume without a key). */
  transport?: AgentTransport;
  /** See {@link BOOT_KEYS.hostname}. */
  hostname?: string;
  /** False renders `pyro.prewarm=0`. */
  prewarm?: boolean;
  /** See {@link BOOT_KEYS.probe}. */
  probe?: boolean;
  /** Extra words appended verbatim (tests, `PYRO_QEMU_EXTRA_CMDLINE`). */
  extra?: readonly string[];
}

/** Hostnames a guest accepts (RFC 1123 label characters, at most 63). */
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

/**
 * Render the kernel command line of `args`, in a fixed word order. A vsock
 * transport also renders `pyro.init_args=--init`: the initramfs starts the
 * agent with `--serial auto` unless told otherwise, and `--init` makes the
 * agent take its transport from `pyro.transport=` instead.
 */
export function renderCmdline(args: GuestBootArgs): string {
  const words = ["console=ttyS0"];
  if (args.root) words.push(`root=${word("root", args.root.device)}`, args.root.mode);
  if (args.quiet) words.push("quiet");
  words.push(`panic=${Math.trunc(args.panic)}`);
  if (args.reboot) words.push(`reboot=${args.reboot}`);
  if (args.activate) words.push(BOOT_KEYS.activate);
  if (args.tscKhz) words.push(`${BOOT_KEYS.tscKhz}=${Math.trunc(args.tscKhz)}`);
  if (args.pciOff) words.push("pci=off");
  if (args.skipModules) words.push(`${BOOT_KEYS.skipModules}=${args.skipModules.map((m) => word("module", m)).join(",")}`);
  if (args.net) {
    const { address, gateway, dns } = args.net;
    words.push(`${BOOT_KEYS.net}=${[address, gateway, dns].map((v) => word("network", v)).join(",")}`);
  }
  if (args.transport?.kind === "vsock") {
    const { port } = args.transport;
    if (!Number.isInteger(port) || port < 1 || port > 0xffffffff) {
      throw new PyroError("invalid_argument", `invalid agent vsock port ${port}`, { hint: "use a port between 1 and 4294967295" });
    }
    words.push(`${BOOT_KEYS.transport}=vsock:${port}`, `${BOOT_KEYS.initArgs}=--init`);
  }
  if (args.hostname !== undefined) words.push(`${BOOT_KEYS.hostname}=${checkHostname(args.hostname)}`);
  if (args.prewarm === false) words.push(`${BOOT_KEYS.prewarm}=0`);
  if (args.probe) words.push(BOOT_KEYS.probe);
  words.push(...(args.extra ?? []));
  return words.join(" ");
}

/** `hostname` when a guest accepts it; an `invalid_argument` error otherwise. */
export function checkHostname(hostname: string): string {
  if (!HOSTNAME.test(hostname)) {
    throw new PyroError("invalid_argument", `invalid guest hostname ${JSON.stringify(hostname)}`, {
      hint: "use letters, digits, dots and hyphens (at most 63 characters)",
    });
  }
  return hostname;
}

/** A value that must stay one command-line word (and one comma-separated item). */
function word(what: string, value: string): string {
  if (value === "" || /[\s,]/.test(value)) {
    throw new PyroError("invalid_argument", `invalid ${what} value ${JSON.stringify(value)} for the kernel command line`, {
      hint: "kernel command-line values cannot be empty or hold spaces or commas",
    });
  }
  return value;
}
