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
  details: `Start here for a one-off command (a build, a test run, a quick check) in a clean, isolated Debian VM: each call gets a fresh VM, deleted afterwards, so nothing survives it. For repeated commands on the same files, move to workspace_create and workspace_exec. timeout_seconds (default 30) bounds the command; network is off unless network: true. Returns exit_code, stdout, stderr, timed_out, duration_ms (milliseconds) and where it ran (backend, execution_mode). ${OUTPUT_NOTE}`,
  input: z.object({ ...createFields, command: shellCommand, timeout_seconds: timeoutSeconds }),
  result: oneShotResult,
});

export const createVm = defineOperation({
  mcp: "vm_create",
  summary: "Create a VM record without starting it",
  details: "The lower-level form of vm_run (create, vm_start, vm_exec); prefer vm_run. Returns the vm_id the other vm_* tools take; nothing boots until vm_start. The VM is reaped ttl_seconds (default 600) after create.",
  input: z.object(createFields),
  result: vmInfo,
});

const vmId = z.object({ vm_id: id("VM id") });

export const startVm = defineOperation({
  mcp: "vm_start",
  summary: "Boot a created VM",
  details: "Boots the VM vm_create made; then run one command in it with vm_exec (which deletes it). Returns the VM's state.",
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
  details: "Returns the VM's state; vm_delete removes it.",
  input: vmId,
  result: vmInfo,
});

export const deleteVm = defineOperation({
  mcp: "vm_delete",
  summary: "Stop a VM if needed and remove everything it left",
  details: "Use it for a VM that vm_exec never ran in; vm_run and vm_exec delete theirs themselves.",
  input: vmId,
  result: z.object({ vm_id: z.string(), deleted: z.boolean() }),
});

export const statusVm = defineOperation({
  mcp: "vm_status",
  summary: "Report a VM's state",
  details: "Reads pyro's record (state: created, running, stopped, dead) and the machine's settings; changes nothing.",
  input: vmId,
  result: vmInfo,
});

export const networkInfoVm = defineOperation({
  mcp: "vm_network_info",
  summary: "Report a VM's network configuration",
  details: "Whether the VM has network access (network_enabled) and its policy; changes nothing.",
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
