import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileStamp, type FileStamp } from "../../environments/snapshots.js";
import { PyroError, toPyroError } from "../../util/errors.js";
import type { MachineSpec } from "../backend.js";
import type { FirecrackerApiClient } from "./api-client.js";
import { buildVmConfig, type VmmKernel } from "./boot-config.js";
import { VM_FILES } from "./constants.js";
import type { VmLayout } from "./layout.js";

/** The file of a Firecracker boot snapshot that holds the microVM state (`snapshot_path`). */
export const FC_STATE_FILE = "vmstate";
/** The file of a Firecracker boot snapshot that holds the guest memory (`mem_file_path`). */
export const FC_MEMORY_FILE = "memory";

/**
 * The layout a snapshot-capable (unjailed) machine gives Firecracker: its
 * root disk and vsock socket relative to the VMM's working directory, the
 * machine directory. A snapshot records those paths, so a state saved by one
 * machine restores in another machine's directory (and keeps working after
 * the pool renames a parked machine's directory: the VMM's working directory
 * moves with it). A jailed VMM's paths are chroot-relative already.
 */
export function portableLayout(layout: VmLayout): VmLayout {
  if (layout.jailed) return layout;
  return { ...layout, vmm: { ...layout.vmm, rootDisk: VM_FILES.rootDisk, vsockSocket: VM_FILES.vsockSocket } };
}

/**
 * The key of the Firecracker boot snapshot that fits `spec`: a hash of the
 * configuration the guest sees (machine, boot source, drive, vsock; per-machine
 * host paths fixed) and of the stamps of the files whose content is in the
 * guest (the firecracker binary, kernel, initramfs, root image).
 */
export function firecrackerSnapshotKey(spec: MachineSpec, firecracker: string, kernel: VmmKernel, agentPort: number): { key: string; sources: FileStamp[] } {
  const fixed = { ...spec, id: "pyro-snapshot", dir: "/pyro-snapshot", hostname: "pyro-snapshot" };
  const layout = portableLayout({
    jailed: false,
    rootDisk: "",
    apiSocket: "",
    vsockSocket: "",
    logFile: "",
    metricsFile: "",
    consoleFile: "",
    stderrFile: "",
    vmm: { apiSocket: "", vsockSocket: "", rootDisk: "", log: "", metrics: "" },
  });
  const { machine, bootSource, rootDrive, vsock } = buildVmConfig(fixed, layout, kernel, undefined, agentPort, undefined, { snapshot: true });
  const sources = [firecracker, kernel.kernel, ...(kernel.initrd ? [kernel.initrd] : []), spec.environment.rootImage].map(fileStamp);
  const digest = createHash("sha256").update(JSON.stringify({ machine, bootSource, rootDrive, vsock, sources })).digest("hex");
  return { key: `firecracker-${digest.slice(0, 32)}`, sources };
}

/**
 * Save the boot snapshot of a running guest that has booted and is not yet
 * activated (root read-only: the environment's image is still the disk that
 * belongs to the state) into `dir`: `PATCH /vm` Paused, `PUT
 * /snapshot/create` (a full snapshot: state and memory files), then `PATCH
 * /vm` Resumed, which also runs when the create fails.
 */
export async function saveBootSnapshot(client: FirecrackerApiClient, dir: string): Promise<string[]> {
  await client.pause();
  try {
    await client.createSnapshot({ snapshot_path: join(dir, FC_STATE_FILE), mem_file_path: join(dir, FC_MEMORY_FILE), snapshot_type: "Full" });
  } finally {
    await client.resume();
  }
  return [FC_STATE_FILE, FC_MEMORY_FILE];
}

/**
 * Restore the boot snapshot in `dir` into a fresh Firecracker process and keep
 * it paused (`PUT /snapshot/load` with `resume_vm: false`; its memory file
 * mapped, not copied). Firecracker's refusal (a missing or damaged file, a
 * snapshot of another version) becomes a `guest_failure` naming the snapshot.
 */
export async function loadParked(client: FirecrackerApiClient, dir: string): Promise<void> {
  try {
    await client.loadSnapshot({
      snapshot_path: join(dir, FC_STATE_FILE),
      mem_backend: { backend_type: "File", backend_path: join(dir, FC_MEMORY_FILE) },
      resume_vm: false,
    });
  } catch (error) {
    const pyroError = toPyroError(error);
    const fault = typeof pyroError.details?.fault_message === "string" ? pyroError.details.fault_message : pyroError.message;
    throw new PyroError("guest_failure", `firecracker could not load the boot snapshot ${dir}: ${fault}`, {
      hint: "pyro discards that snapshot and boots machines of this shape until it saves a new one; `pyro env prune` removes unusable snapshots",
      details: { snapshot: dir, fault_message: fault },
      cause: error,
    });
  }
}
