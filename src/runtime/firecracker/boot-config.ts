import { createHash } from "node:crypto";
import type { MachineSpec } from "../backend.js";
import { renderCmdline, type GuestBootArgs, type GuestNet } from "../guest-boot/index.js";
import type { BootSource, Drive, Logger, MachineConfiguration, Metrics, NetworkInterface, Vsock } from "./api-types.js";
import type { FirecrackerApiClient } from "./api-client.js";
import { AGENT_VSOCK_PORT, GUEST_CID, NET_IFACE_ID, ROOT_DRIVE_ID } from "./constants.js";
import type { VmLayout } from "./layout.js";

/** Everything sent to Firecracker before InstanceStart, in request order. */
export interface VmConfig {
  logger: Logger;
  metrics: Metrics;
  machine: MachineConfiguration;
  bootSource: BootSource;
  rootDrive: Drive;
  vsock: Vsock;
  network?: NetworkInterface;
}

/** Kernel paths as the Firecracker process names them. */
export interface VmmKernel {
  kernel: string;
  initrd?: string;
}

/**
 * The typed kernel command line of a Firecracker guest (src/runtime/guest-boot):
 * a writable root, `reboot=k` (the guest's reboot ends Firecracker), no PCI,
 * and the agent on vsock `agentPort`; with network, eth0's static address,
 * gateway and DNS (`pyro.net=`: the initramfs configures eth0, the agent
 * writes resolv.conf). Nothing else of one machine: the hostname comes with
 * the `activate` op after boot, as on qemu.
 */
export function firecrackerBootArgs(agentPort: number = AGENT_VSOCK_PORT, net?: GuestNet, options: BootOptions = {}): GuestBootArgs {
  return {
    root: { device: "/dev/vda", mode: options.snapshot ? "ro" : "rw" },
    panic: 1,
    reboot: "k",
    // A state that may be saved boots read-only and without identity until `activate`, as qemu's always do.
    ...(options.snapshot ? { activate: true } : {}),
    pciOff: true,
    ...(net ? { net } : {}),
    transport: { kind: "vsock", port: agentPort },
  };
}

/** How a machine boots. */
export interface BootOptions {
  /**
   * Boot so the state can be saved as a boot snapshot (the pool's): root
   * read-only and no identity until `activate` (`pyro.activate`).
   */
  snapshot?: boolean;
}

/** The rendered kernel command line of {@link firecrackerBootArgs}. */
export function bootArgs(agentPort: number = AGENT_VSOCK_PORT, net?: GuestNet, options: BootOptions = {}): string {
  return renderCmdline(firecrackerBootArgs(agentPort, net, options));
}

/** A stable locally-administered MAC for a machine id. */
export function guestMac(id: string): string {
  const bytes = createHash("sha256").update(id).digest().subarray(0, 5);
  return ["06", ...[...bytes].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/**
 * Build the pre-boot configuration of one machine; the guest agent listens on
 * vsock `agentPort`. With `tapDevice`, the guest gets a network interface on it
 * and `guestNet` (when given) on its command line.
 */
export function buildVmConfig(
  spec: MachineSpec,
  layout: VmLayout,
  kernel: VmmKernel,
  tapDevice?: string,
  agentPort: number = AGENT_VSOCK_PORT,
  guestNet?: GuestNet,
  options: BootOptions = {},
): VmConfig {
  const config: VmConfig = {
    logger: { log_path: layout.vmm.log, level: "Info", show_level: true, show_log_origin: false },
    metrics: { metrics_path: layout.vmm.metrics },
    machine: { vcpu_count: spec.vcpuCount, mem_size_mib: spec.memMib, smt: false },
    bootSource: {
      kernel_image_path: kernel.kernel,
      boot_args: bootArgs(agentPort, tapDevice ? guestNet : undefined, options),
      ...(kernel.initrd ? { initrd_path: kernel.initrd } : {}),
    },
    rootDrive: {
      drive_id: ROOT_DRIVE_ID,
      path_on_host: layout.vmm.rootDisk,
      is_root_device: true,
      is_read_only: false,
      cache_type: "Unsafe",
      io_engine: "Sync",
    },
    vsock: { guest_cid: GUEST_CID, uds_path: layout.vmm.vsockSocket },
  };
  if (tapDevice) config.network = { iface_id: NET_IFACE_ID, host_dev_name: tapDevice, guest_mac: guestMac(spec.id) };
  return config;
}

/**
 * Send the configuration in Firecracker's documented order (logger and metrics
 * first, then machine, boot source, drives, vsock, network) and start the guest.
 */
export async function configureAndStart(client: FirecrackerApiClient, config: VmConfig): Promise<void> {
  await client.putLogger(config.logger);
  await client.putMetrics(config.metrics);
  await client.putMachineConfig(config.machine);
  await client.putBootSource(config.bootSource);
  await client.putDrive(config.rootDrive);
  await client.putVsock(config.vsock);
  if (config.network) await client.putNetworkInterface(config.network);
  await client.instanceStart();
}
