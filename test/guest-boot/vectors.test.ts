import { describe, expect, it } from "vitest";
import { activateRequest, BOOT_KEYS, renderCmdline } from "../../src/runtime/guest-boot/index.js";
import { kernelCmdline, qemuBootArgs, qemuLayout, type QemuArgsInput } from "../../src/runtime/qemu/index.js";
import { bootArgs, buildVmConfig, firecrackerBootArgs } from "../../src/runtime/firecracker/boot-config.js";
import { vmLayout } from "../../src/runtime/firecracker/layout.js";
import type { MachineSpec } from "../../src/runtime/backend.js";
import { PyroError } from "../../src/util/errors.js";
import { bootVector, bootVectors } from "./vectors.js";

function qemuInput(extra: Partial<QemuArgsInput>): QemuArgsInput {
  return {
    layout: qemuLayout("/run/vm"),
    machine: "microvm",
    accel: "tcg",
    vcpus: 1,
    memMib: 256,
    kernel: "/k/vmlinuz",
    initramfs: "/k/initramfs.img",
    rootDisk: "/run/vm/root.qcow2",
    rootFormat: "qcow2",
    network: "off",
    publishedPorts: [],
    ...extra,
  };
}

describe("guest boot vectors (protocol/boot/vectors.json)", () => {
  it.each(bootVectors().cases.map((c) => [c.name, c] as const))("%s: its typed args render to its command line", (_name, c) => {
    expect(renderCmdline(c.args)).toBe(c.cmdline);
  });

  it("every key the module defines is listed in the vectors, and no other", () => {
    expect(Object.keys(bootVectors().keys).sort()).toEqual(Object.values(BOOT_KEYS).sort());
  });

  it("the qemu backend writes the qemu cases", () => {
    const microvm = qemuInput({ machine: "microvm", network: "off", tscKhz: 2_100_000 });
    const q35 = qemuInput({ machine: "q35", network: "egress" });
    expect(qemuBootArgs(microvm)).toEqual(bootVector("qemu-microvm-offline").args);
    expect(kernelCmdline(microvm)).toBe(bootVector("qemu-microvm-offline").cmdline);
    expect(qemuBootArgs(q35)).toEqual(bootVector("qemu-q35-egress").args);
    expect(kernelCmdline(q35)).toBe(bootVector("qemu-q35-egress").cmdline);
  });

  it("the firecracker backend writes the firecracker cases, with the agent port it will dial", () => {
    expect(firecrackerBootArgs()).toEqual(bootVector("firecracker").args);
    expect(bootArgs()).toBe(bootVector("firecracker").cmdline);
    expect(bootArgs(5005)).toBe(bootVector("firecracker-agent-port").cmdline);
    expect(firecrackerBootArgs(10000, undefined, { snapshot: true })).toEqual(bootVector("firecracker-snapshot").args);
    expect(bootArgs(10000, undefined, { snapshot: true })).toBe(bootVector("firecracker-snapshot").cmdline);
    const spec: MachineSpec = {
      id: "vm1",
      dir: "/run/vm1",
      environment: { name: "debian:12", dir: "/e", rootfsDir: "/e/rootfs", rootImage: "/e/rootfs.ext4" },
      vcpuCount: 1,
      memMib: 256,
      network: "off",
      publishedPorts: [],
      hostname: "pyro-vm1",
    };
    const config = buildVmConfig(spec, vmLayout(spec.dir, spec.id), { kernel: "/e/vmlinux" }, undefined, 5005);
    expect(config.bootSource.boot_args).toBe(bootVector("firecracker-agent-port").cmdline);
    // The hostname is not on the command line: the guest gets it with activate.
    expect(config.bootSource.boot_args).not.toContain("pyro-vm1");
  });

  it("refuses values that would split a word or an item", () => {
    expect(() => renderCmdline({ panic: 1, skipModules: ["a b"] })).toThrow(PyroError);
    expect(() => renderCmdline({ panic: 1, net: { address: "10.0.0.2/24", gateway: "10.0.0.1,x", dns: "1.1.1.1" } })).toThrow(PyroError);
    expect(() => renderCmdline({ panic: 1, transport: { kind: "vsock", port: 0 } })).toThrow(/vsock port/);
    expect(() => renderCmdline({ panic: 1, hostname: "bad name" })).toThrow(/hostname/);
  });
});

describe("the identity step", () => {
  it("a resumable state gets the host's clock and fresh entropy; a cold boot only its hostname", () => {
    const before = Date.now();
    const warm = activateRequest({ hostname: "vm-1", resumable: true });
    expect(warm.hostname).toBe("vm-1");
    expect(warm.unix_time_ms).toBeGreaterThanOrEqual(before);
    expect(Buffer.from(warm.entropy ?? "", "base64")).toHaveLength(64);
    expect(activateRequest({ hostname: "vm-1", resumable: true }).entropy).not.toBe(warm.entropy);
    expect(activateRequest({ hostname: "vm-1", resumable: false })).toEqual({ hostname: "vm-1" });
  });

  it("refuses a hostname the guest would not take", () => {
    expect(() => activateRequest({ hostname: "-bad host", resumable: false })).toThrow(/hostname/);
  });
});
