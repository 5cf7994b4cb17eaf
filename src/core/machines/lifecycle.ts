import { getInstalledEnvironment, type InstalledEnvironment } from "../../environments/index.js";
import type { BackendName, MachineHandle } from "../../runtime/backend.js";
import { killProcessesUnder } from "../../util/dir-processes.js";
import type { BackendRegistry } from "./select.js";
import type { MachineRef } from "./session.js";

/** How long a machine may take to boot and answer its first hello (software emulation is slow). */
export const BOOT_TIMEOUT_MS = 120_000;

/** How long a guest gets to power off before it is killed. */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * The environment of an existing machine. Reaching, stopping or cleaning up a
 * machine does not need its environment, so a pruned environment must not
 * strand the machines built from it: a placeholder stands in.
 */
export async function environmentOf(name: string, cacheDir: string): Promise<InstalledEnvironment> {
  return getInstalledEnvironment(name, cacheDir).catch(() => ({ name, dir: "", rootfsDir: "", rootImage: "" }));
}

/** Whether a record that says it runs has lost its machine's host process. */
export function machineGone(backends: BackendRegistry, record: { state: string; backend: BackendName; handle: MachineHandle | null }): boolean {
  return record.state === "running" && record.handle !== null && !backends.get(record.backend).isRunning(record.handle);
}

/**
 * Tear a machine down for good: kill it and remove its backend files. No
 * clean power-off: its disk is discarded, so flushing it would only cost
 * time (a guest shutdown under emulation takes longer than the kill).
 * Processes of the machine directory that no handle names (a creator killed
 * before it recorded one) are found by their command lines and killed too.
 */
export async function destroyMachine(machine: MachineRef, handle: MachineHandle | null): Promise<void> {
  if (handle) await machine.backend.kill(handle);
  await killUntracked(machine);
  await machine.backend.cleanup(machine.spec);
}

/** Kill whatever still runs from a machine's directory; its handle, if any, is already dead. */
export async function killUntracked(machine: Pick<MachineRef, "spec">): Promise<number[]> {
  return machine.spec.dir ? killProcessesUnder(machine.spec.dir) : [];
}
