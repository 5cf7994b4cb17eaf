import { join } from "node:path";
import type { KernelArtifacts } from "../../environments/types.js";
import { installedKernel } from "../../environments/kernel/index.js";
import type { PyroConfig } from "../../util/config.js";
import { kvmRunsStandardGuest } from "../qemu/accel.js";
import { findQemu } from "../qemu/host.js";

/** Whether a standard guest boots under KVM here, and the words `doctor` shows for it. */
export interface KvmGuestCheck {
  /** true / false from the probe; undefined when it could not run. */
  runs: boolean | undefined;
  detail: boolean | string;
}

/**
 * Run (or read the cached answer of) the KVM probe boot that also decides
 * QEMU's accelerator (src/runtime/qemu/accel.ts), with the same cache file, so
 * both backends always agree on this host's KVM. It needs QEMU and an
 * installed guest kernel; without them it says so and decides nothing (no
 * kernel means no guest of any backend can boot yet: `pyro env pull` first).
 */
export async function kvmGuestCheck(input: { config: PyroConfig; kernel?: KernelArtifacts; cacheFile?: string }): Promise<KvmGuestCheck> {
  const qemu = findQemu(input.config);
  if (!qemu) return { runs: undefined, detail: "not probed: the probe boots the guest kernel with qemu-system-x86_64, which is not installed" };
  const kernel = input.kernel ?? installedKernel(input.config.cacheDir);
  if (!kernel) return { runs: undefined, detail: "not probed: no guest kernel installed yet (pyro env pull installs it)" };
  const runs = await kvmRunsStandardGuest({ qemu, kernel, cacheFile: input.cacheFile ?? join(input.config.stateDir, "qemu-kvm-probe.json") });
  return { runs, detail: runs };
}
