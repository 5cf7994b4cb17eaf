import type { BackendName, EnforcedLimits, ExecutionMode, MachineHandle } from "../../runtime/backend.js";

/** A guest kernel is held to its memory and vCPUs by the VM itself; its processes stay inside the VM. */
const VM_LIMITS: EnforcedLimits = { mem_mib: "vm", vcpu_count: "vm", pids_max: null };

/**
 * How a machine's `mem_mib` and `vcpu_count` are enforced, for results
 * (`limits_enforced`): what its backend reported at start, the VM itself for
 * guest-booting backends, or null when no sandbox runs to say (stopped, or
 * started by a pyro that did not record it).
 */
export function enforcedLimits(record: { execution_mode: ExecutionMode; handle: MachineHandle | null }): EnforcedLimits | null {
  if (record.handle?.limits) return record.handle.limits;
  return record.execution_mode === "host_compat" ? null : VM_LIMITS;
}

/** The machine fields that VM and workspace results share, from their records. */
export function machineInfo<R extends { environment: string; backend: BackendName; execution_mode: ExecutionMode; vcpu_count: number; mem_mib: number; handle: MachineHandle | null }>(
  record: R,
) {
  return {
    environment: record.environment,
    backend: record.backend,
    execution_mode: record.execution_mode,
    vcpu_count: record.vcpu_count,
    mem_mib: record.mem_mib,
    limits_enforced: enforcedLimits(record),
  };
}
