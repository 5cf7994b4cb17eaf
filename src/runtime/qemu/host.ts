import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findBinary, isExecutable } from "../../util/binaries.js";
import type { PyroConfig } from "../../util/config.js";

/** The QEMU binary: the configured one (`PYRO_QEMU_BIN`, a path or a name on PATH), else `qemu-system-x86_64` on PATH. */
export function findQemu(config: PyroConfig): string | undefined {
  return findBinary("qemu-system-x86_64", config.qemu.bin, config.env);
}

/** `qemu-img`, next to the QEMU binary when it is there, else the configured one or on PATH. */
export function findQemuImg(qemu: string | undefined, config: PyroConfig): string | undefined {
  if (qemu?.includes("/")) {
    const sibling = join(qemu.slice(0, qemu.lastIndexOf("/")), "qemu-img");
    if (isExecutable(sibling)) return sibling;
  }
  return findBinary("qemu-img", config.qemu.imgBin, config.env);
}

/**
 * The host TSC frequency in kHz, for the guest's `tsc_early_khz=` (under TCG
 * the guest TSC ticks at the host's rate; without it the microvm guest often
 * hangs calibrating). Prefers the kernel's exact `tsc_freq_khz` when the
 * host exposes it, else `cpu MHz` of /proc/cpuinfo; undefined when neither.
 */
export function hostTscKhz(): number | undefined {
  try {
    const khz = Number(readFileSync("/sys/devices/system/cpu/cpu0/tsc_freq_khz", "utf8").trim());
    if (Number.isInteger(khz) && khz > 0) return khz;
  } catch {
    // not exposed by this kernel
  }
  try {
    const match = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    const mhz = match ? Number(match[1]) : NaN;
    if (mhz > 0) return Math.round(mhz * 1000);
  } catch {
    // no /proc
  }
  return undefined;
}
