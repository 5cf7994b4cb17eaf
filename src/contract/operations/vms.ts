import { z } from "zod";
import { defineOperation } from "../operation.js";
import {
  allowCidrs,
  allowHostCompat,
  allowHosts,
  allowListFields,
  backendChoice,
  backendName,
  cleanupResult,
  commandResultFields,
  environmentName,
  executionMode,
  id,
  limitsEnforced,
  OUTPUT_NOTE,
  memMib,
  networkPolicyValue,
  shellCommand,
  timeoutSeconds,
  ttlSeconds,
  vcpuCount,
} from "../common.js";
import { VM_STATES } from "../../util/vocabulary.js";

// The VM face of the one network concept: true is the `egress` policy, false is `off` (util/vocabulary.ts).
const network = z.boolean().default(false).describe("Give the guest outbound network access (default false)");

const vmState = z.enum(VM_STATES);

/** A VM record as status and lifecycle calls report it. */
export const vmInfo = z.object({
  vm_id: z.string(),
  environment: z.string(),
  state: vmState,
  backend: backendName,
  execution_mode: executionMode,
  vcpu_count: z.number().int(),
  mem_mib: z.number().int(),
  limits_enforced: limitsEnforced,
  network: z.boolean(),
  ttl_seconds: z.number().int(),
  created_at: z.string(),
  expires_at: z.string(),
  started_at: z.string().nullable(),
  pid: z.number().int().nullable(),
  detail: z.string().nullable().describe("Why the VM is dead, when it is"),
});

const createFields = {
  environment: environmentName,
  vcpu_count: vcpuCount,
  mem_mib: memMib,
  ttl_seconds: ttlSeconds,
  network,
  allow_hosts: allowHosts,
  allow_cidrs: allowCidrs,
  allow_host_compat: allowHostCompat,
  backend: backendChoice,
};

const oneShotResult = z.object({
  vm_id: z.string(),
  environment: z.string(),
  ...commandResultFields,
  limits_enforced: limitsEnforced,
  cleanup: cleanupResult,
});

export const runInVm = defineOperation({
  mcp: "vm_run",
  summary: "Run one command in a fresh VM and delete the VM afterwards",
  details: `Nothing survives the call: use workspace_create and workspace_exec to keep files between commands. ${OUTPUT_NOTE}`,
  input: z.object({ ...createFields, command: shellCommand, timeout_seconds: timeoutSeconds }),
  result: oneShotResult,
});

export const createVm = defineOperation({
  mcp: "vm_create",
  summary: "Create a VM record without starting it",
  input: z.object(createFields),
  result: vmInfo,
});

const vmId = z.object({ vm_id: id("VM id") });

export const startVm = defineOperation({
  mcp: "vm_start",
  summary: "Boot a created VM",
  input: vmId,
  result: vmInfo,
});

export const execVm = defineOperation({
  mcp: "vm_exec",
  summary: "Run one command in a started VM, then delete the VM",
  details: `The VM is deleted after this one command, whatever its exit code (the result's cleanup says so): a second vm_exec on it fails with not_found. Use a workspace (workspace_create, workspace_exec) to run several commands in one machine. ${OUTPUT_NOTE}`,
  input: vmId.extend({ command: shellCommand, timeout_seconds: timeoutSeconds }),
  result: oneShotResult,
});

export const stopVm = defineOperation({
  mcp: "vm_stop",
  summary: "Shut a VM down cleanly, keeping its record",
  input: vmId,
  result: vmInfo,
});

export const deleteVm = defineOperation({
  mcp: "vm_delete",
  summary: "Stop a VM if needed and remove everything it left",
  input: vmId,
  result: z.object({ vm_id: z.string(), deleted: z.boolean() }),
});

export const statusVm = defineOperation({
  mcp: "vm_status",
  summary: "Report a VM's state",
  input: vmId,
  result: vmInfo,
});

export const networkInfoVm = defineOperation({
  mcp: "vm_network_info",
  summary: "Report a VM's network configuration",
  input: vmId,
  result: z.object({
    vm_id: z.string(),
    network_enabled: z.boolean().describe("The VM's `network` flag"),
    policy: networkPolicyValue.describe("The network policy that flag maps to: true is egress, false is off"),
    backend: backendName,
    guest_ip: z.string().nullable(),
    published_ports: z.array(z.object({ host_port: z.number().int(), guest_port: z.number().int() })),
    ...allowListFields,
  }),
});

export const reapExpired = defineOperation({
  mcp: "vm_reap_expired",
  summary: "Delete every expired VM (ttl_seconds after create) and every expired workspace (idle for its ttl_seconds), with their machines and files",
  details: "Deletes expired workspaces with all their files, snapshots and logs. Also drops pooled machines idle longer than PYRO_POOL_IDLE_SECONDS.",
  input: z.object({}),
  result: z.object({
    reaped_vms: z.array(z.string()),
    reaped_workspaces: z.array(z.string()),
    count: z.number().int(),
  }),
});
