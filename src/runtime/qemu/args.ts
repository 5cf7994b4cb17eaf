import type { NetworkPolicy, PublishedPort } from "../backend.js";
import { shellQuote } from "../../util/shell.js";
import { renderCmdline, type GuestBootArgs } from "../guest-boot/index.js";
import type { QemuLayout } from "./layout.js";

/** The two machine types pyro can drive. */
export type QemuMachine = "microvm" | "q35";
/** The accelerator a machine runs under. */
export type QemuAccel = "kvm" | "tcg";

/** Guest address of QEMU user networking (slirp), its gateway and DNS forwarder. */
export const USER_NET = { address: "10.0.2.15/24", gateway: "10.0.2.2", dns: "10.0.2.3" } as const;

/** Everything that decides a QEMU command line. */
export interface QemuArgsInput {
  layout: QemuLayout;
  machine: QemuMachine;
  accel: QemuAccel;
  vcpus: number;
  memMib: number;
  kernel: string;
  initramfs: string;
  rootDisk: string;
  rootFormat: "qcow2" | "raw";
  network: NetworkPolicy;
  publishedPorts: readonly PublishedPort[];
  /** Host TSC kHz for `tsc_early_khz=` (omitted when unknown). */
  tscKhz?: number;
  /** Extra kernel command line words (tests, probes). */
  extraCmdline?: readonly string[];
  /** Resume the boot snapshot in this file instead of booting (`-incoming`). */
  incomingState?: string;
  /** With `incomingState`: stay paused once it is loaded (`-S`; a pooled machine, let run by QMP `cont`). */
  paused?: boolean;
}

/**
 * The kernel command line: console, root, quiet boot, panic → reset (triple
 * fault, which `-no-reboot` turns into an exit), and pyro's own keys. It holds
 * nothing of one machine (no hostname): with `pyro.activate` the guest boots
 * with a read-only root and no identity and waits for the host's `activate`,
 * so one booted state can be snapshotted and resumed by many machines.
 */
export function kernelCmdline(input: QemuArgsInput): string {
  return renderCmdline(qemuBootArgs(input));
}

/** The typed boot arguments of {@link kernelCmdline} (src/runtime/guest-boot). */
export function qemuBootArgs(input: QemuArgsInput): GuestBootArgs {
  return {
    root: { device: "/dev/vda", mode: "ro" },
    quiet: true,
    panic: -1,
    reboot: "t",
    activate: true,
    ...(input.tscKhz ? { tscKhz: input.tscKhz } : {}),
    pciOff: input.machine === "microvm",
    skipModules: skippedModules(input),
    ...(input.network !== "off" ? { net: { address: USER_NET.address, gateway: USER_NET.gateway, dns: USER_NET.dns } } : {}),
    // The agent serves virtio-serial ports: the default transport, no key.
    transport: { kind: "serial" },
    ...(input.extraCmdline ? { extra: input.extraCmdline } : {}),
  };
}

/**
 * Initramfs modules this machine does not need (each insmod costs tens of ms
 * under TCG): the other virtio transport, vsock (the agent talks over
 * virtio-serial here), and the NIC drivers when there is no network.
 */
export function skippedModules(input: Pick<QemuArgsInput, "machine" | "network">): string[] {
  const skip = ["vmw_vsock_virtio_transport", "vmw_vsock_virtio_transport_common", "vsock"];
  if (input.machine === "microvm") skip.push("virtio_pci", "virtio_pci_modern_dev", "virtio_pci_legacy_dev");
  else skip.push("virtio_mmio");
  if (input.network === "off") skip.push("virtio_net", "net_failover", "failover");
  return skip;
}

/**
 * The argv (without the binary) of one VM: `-M microvm` with virtio-mmio
 * devices, or q35 with virtio-pci; the root disk on virtio-blk; one
 * virtio-serial controller with {@link QemuLayout.agentSockets} ports named
 * `pyro.agent.N`, each a listening Unix socket; QMP on a Unix socket; the serial
 * console into a file; user networking only when the policy allows it.
 */
export function buildQemuArgs(input: QemuArgsInput): string[] {
  const { layout } = input;
  const bus = input.machine === "microvm" ? "device" : "pci";
  const args = [
    "-nodefaults",
    "-no-user-config",
    "-nographic",
    "-no-reboot",
    "-machine",
    input.machine === "microvm" ? "microvm,acpi=on,pit=on,pic=on,rtc=on" : "q35",
    "-accel",
    input.accel === "kvm" ? "kvm" : "tcg,thread=multi",
    "-cpu",
    input.accel === "kvm" ? "host" : "max",
    "-smp",
    String(input.vcpus),
    "-m",
    `${input.memMib}M`,
    "-kernel",
    input.kernel,
    "-initrd",
    input.initramfs,
    "-append",
    kernelCmdline(input),
    "-serial",
    `file:${layout.consoleLog}`,
    "-pidfile",
    layout.pidFile,
    "-qmp",
    `unix:${layout.qmpSocket},server=on,wait=off`,
    "-drive",
    `id=root,file=${escapeOption(input.rootDisk)},format=${input.rootFormat},if=none,cache=writeback,discard=unmap`,
    "-device",
    `virtio-blk-${bus},drive=root`,
    "-device",
    `virtio-rng-${bus}`,
    "-device",
    `virtio-serial-${bus}`,
    // A snapshot is taken paused; without the source's run state in it, the
    // machine that resumes it starts running as soon as it is loaded.
    "-global",
    "migration.store-global-state=off",
  ];
  layout.agentSockets.forEach((socket, i) => {
    args.push("-chardev", `socket,id=agent${i},path=${escapeOption(socket)},server=on,wait=off`);
    args.push("-device", `virtserialport,chardev=agent${i},name=pyro.agent.${i}`);
  });
  if (input.network !== "off") {
    const forwards =
      input.network === "egress+published-ports"
        ? // Inside the machine's own namespace: slirp4netns forwards the host's 127.0.0.1 port to this one.
          input.publishedPorts.map((p) => `,hostfwd=tcp::${p.host_port}-:${p.guest_port}`).join("")
        : "";
    args.push("-netdev", `user,id=net0${forwards}`, "-device", `virtio-net-${bus},netdev=net0`);
  }
  // QEMU 7.2 has no file: migration URI; exec: runs the command with /bin/sh.
  if (input.incomingState) args.push("-incoming", `exec:cat ${shellQuote(input.incomingState)}`);
  if (input.incomingState && input.paused) args.push("-S");
  return args;
}

/** QEMU option values escape a comma by doubling it. */
function escapeOption(value: string): string {
  return value.replace(/,/g, ",,");
}
