import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The QEMU binary: `PYRO_QEMU_BIN` (a path or a name on PATH), else `qemu-system-x86_64` on PATH. */
export function findQemu(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const wanted = env.PYRO_QEMU_BIN || "qemu-system-x86_64";
  if (wanted.includes("/")) return executable(wanted) ? wanted : undefined;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && executable(join(dir, wanted))) return join(dir, wanted);
  }
  return undefined;
}

/** `qemu-img`, next to the QEMU binary when it is there, else on PATH. */
export function findQemuImg(qemu: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (qemu?.includes("/")) {
    const sibling = join(qemu.slice(0, qemu.lastIndexOf("/")), "qemu-img");
    if (executable(sibling)) return sibling;
  }
  return findQemu({ ...env, PYRO_QEMU_BIN: "qemu-img" });
}

function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
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
