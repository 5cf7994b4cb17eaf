import { z } from "zod";
import { defineOperation } from "../operation.js";
import {
  allowCidrs,
  allowHostCompat,
  allowHosts,
  allowListFields,
  backendChoice,
  boundedInt,
  backendName,
  commandResultFields,
  environmentName,
  executionMode,
  id,
  limitsEnforced,
  memMib,
  networkPolicy,
  networkPolicyValue,
  OUTPUT_NOTE,
  shellCommand,
  sizeText,
  timeoutSeconds,
  vcpuCount,
} from "../common.js";
import { DEFAULTS, LIMITS } from "../defaults.js";
import { strictObject, unionMessage } from "../strict.js";
import { SECRET_SOURCES, SEED_MODES, WORKSPACE_STATES } from "../../util/vocabulary.js";
import { BACKGROUND_NOTE, backgroundInput, backgroundStarted } from "./commands.js";

/** `NAME` or `NAME=ENV_VAR`: which secret to expose to one call, under which variable. */
export const secretEnv = z
  .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(=[A-Za-z_][A-Za-z0-9_]*)?$/, "secret_env entries look like NAME or NAME=ENV_VAR"))
  .optional()
  .describe("Secrets to expose as environment variables: NAME or NAME=ENV_VAR");

const secretName = z.string().describe("Secret name: letters, digits and underscores, starting with a letter or underscore");
const secretDefinition = z
  .union([
    strictObject({
      name: secretName,
      value: z
        .string()
        .max(LIMITS.secret_value_bytes, `a secret value is longer than the limit of ${sizeText(LIMITS.secret_value_bytes)}`)
        .describe(`The secret's value, at most ${sizeText(LIMITS.secret_value_bytes)} of UTF-8; never shown in results, logs or errors`),
    }),
    strictObject({
      name: secretName,
      file_path: z.string().describe(`Host file holding the value (at most ${sizeText(LIMITS.secret_value_bytes)}), read once at create`),
    }),
  ], {
    error: (issue) => (issue.code === "invalid_union" ? unionMessage("a secret is {name, value} or {name, file_path}", issue.errors) : undefined),
  })
  .describe("One secret: {name, value} or {name, file_path}");

const workspaceSeed = z.object({
  mode: z.enum(SEED_MODES),
  source_path: z.string().nullable(),
  entries: z.number().int(),
  bytes: z.number().int(),
});

/** A workspace as status, create and lifecycle calls report it. */
export const workspaceInfo = z.object({
  workspace_id: z.string(),
  environment: z.string(),
  state: z
    .enum(WORKSPACE_STATES)
    .describe("creating: being created right now; dead: its machine died, or its creation was interrupted (detail says which; reset recovers, delete removes)"),
  backend: backendName,
  execution_mode: executionMode,
  vcpu_count: z.number().int(),
  mem_mib: z.number().int(),
  limits_enforced: limitsEnforced,
  network_policy: networkPolicyValue,
  ...allowListFields,
  published_ports: z
    .array(z.object({ host_port: z.number().int(), guest_port: z.number().int() }))
    .describe("Host 127.0.0.1 ports forwarded into the workspace (policy egress+published-ports); they last until the workspace is deleted"),
  ttl_seconds: z.number().int().describe("Idle timeout: every operation on the workspace except status, list, logs and snapshot_list moves expires_at to now + ttl_seconds"),
  created_at: z.string(),
  expires_at: z.string().describe("When the workspace is deleted unless it is used before (its TTL is an idle timeout)"),
  workspace_seed: workspaceSeed,
  secrets: z.array(z.object({ name: z.string(), source: z.enum(SECRET_SOURCES) })),
  command_count: z.number().int(),
  detail: z.string().nullable(),
});

const workspaceId = z.object({ workspace_id: id("workspace id") });

export const createWorkspace = defineOperation({
  mcp: "workspace_create",
  summary: "Create and start a persistent workspace, optionally seeded from a directory or archive",
  input: z.object({
    environment: environmentName,
    vcpu_count: vcpuCount,
    mem_mib: memMib,
    ttl_seconds: boundedInt(LIMITS.ttl_seconds, DEFAULTS.ttl_seconds, "Idle timeout in seconds: the workspace is deleted once unused this long (every operation but status, list, logs and snapshot_list extends it)"),
    network_policy: networkPolicy,
    allow_hosts: allowHosts,
    allow_cidrs: allowCidrs,
    allow_host_compat: allowHostCompat,
    backend: backendChoice,
    seed_path: z.string().optional().describe("Host directory or .tar/.tar.gz/.tgz archive to seed /workspace"),
    secrets: z
      .array(secretDefinition)
      .optional()
      .describe(`Secrets: {name, value} or {name, file_path}; each value at most ${sizeText(LIMITS.secret_value_bytes)}. Files at /run/pyro-secrets/<name>; map them into a call's environment with secret_env`),
  }),
  result: workspaceInfo,
});

export const listWorkspaces = defineOperation({
  mcp: "workspace_list",
  summary: "List workspaces",
  input: z.object({}),
  result: z.object({ workspaces: z.array(workspaceInfo) }),
});

export const pushWorkspaceSync = defineOperation({
  mcp: "workspace_sync_push",
  summary: "Copy a host directory or archive into a running workspace (not atomic; reset recovers)",
  input: workspaceId.extend({
    source_path: z.string().min(1).describe("Host directory or .tar/.tar.gz/.tgz archive"),
    dest: z.string().default(DEFAULTS.sync_dest).describe(`Destination under /workspace (default ${DEFAULTS.sync_dest})`),
  }),
  result: z.object({ workspace_id: z.string(), dest: z.string(), entries: z.number().int(), bytes: z.number().int() }),
});

export const execWorkspace = defineOperation({
  mcp: "workspace_exec",
  summary: "Run one command in a workspace's /workspace; the workspace stays alive",
  details: `${OUTPUT_NOTE} ${BACKGROUND_NOTE}`,
  input: workspaceId.extend({ command: shellCommand, timeout_seconds: timeoutSeconds, secret_env: secretEnv, background: backgroundInput }),
  // A background exec answers at once with its command_id (and `background: true`) instead of the finished command.
  result: z.union([z.object({ workspace_id: z.string(), sequence: z.number().int(), ...commandResultFields }), backgroundStarted]),
});

export const statusWorkspace = defineOperation({
  mcp: "workspace_status",
  summary: "Report a workspace's state and how /workspace was seeded",
  input: workspaceId,
  result: workspaceInfo,
});

export const logsWorkspace = defineOperation({
  mcp: "workspace_logs",
  summary: "Show a workspace's command history",
  input: workspaceId,
  result: z.object({
    workspace_id: z.string(),
    entries: z.array(
      z.object({
        sequence: z.number().int(),
        command: z.string(),
        exit_code: z.number().int(),
        started_at: z.string(),
        duration_ms: z.number().int(),
        stdout: z.string(),
        stderr: z.string(),
        command_id: z.string().optional().describe("Set for a background command: recorded once a call saw it finish; stdout holds the tail of its combined output"),
      }),
    ),
  }),
});

export const deleteWorkspace = defineOperation({
  mcp: "workspace_delete",
  summary: "Stop a workspace and remove all its state",
  details: "Removes /workspace, its snapshots, services, shells and logs for good; export what you need first.",
  input: workspaceId,
  result: z.object({ workspace_id: z.string(), deleted: z.boolean() }),
});

const changedFile = z.object({
  path: z.string(),
  status: z.enum(["added", "modified", "deleted"]),
  kind: z.enum(["file", "directory", "symlink", "other"]),
  binary: z.boolean(),
  diff: z.string().nullable(),
});

export const diffWorkspace = defineOperation({
  mcp: "workspace_diff",
  summary: "Compare the live /workspace with its create-time baseline",
  input: workspaceId,
  result: z.object({
    workspace_id: z.string(),
    changed: z.boolean(),
    summary: z.object({ added: z.number().int(), modified: z.number().int(), deleted: z.number().int() }),
    files: z.array(changedFile),
  }),
});

export const exportWorkspace = defineOperation({
  mcp: "workspace_export",
  summary: "Copy one file or directory out of /workspace to a host path",
  input: workspaceId.extend({
    path: z.string().min(1).describe("Path inside /workspace"),
    output_path: z.string().min(1).describe("Host path to write; never clobbers an existing directory"),
  }),
  result: z.object({
    workspace_id: z.string(),
    path: z.string(),
    output_path: z.string(),
    kind: z.enum(["file", "directory"]),
    entries: z.number().int(),
    bytes: z.number().int(),
  }),
});

const snapshotInfo = z.object({
  name: z.string(),
  created_at: z.string(),
  entries: z.number().int(),
  bytes: z.number().int(),
});
const snapshotName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "snapshot names use letters, digits, '.', '_' and '-' (max 64)")
  .describe("Snapshot name");

export const createSnapshot = defineOperation({
  mcp: "snapshot_create",
  summary: "Save a named checkpoint of /workspace",
  input: workspaceId.extend({ snapshot_name: snapshotName }),
  result: snapshotInfo.extend({ workspace_id: z.string() }),
});

export const listSnapshots = defineOperation({
  mcp: "snapshot_list",
  summary: "List a workspace's snapshots, baseline included",
  input: workspaceId,
  result: z.object({ workspace_id: z.string(), snapshots: z.array(snapshotInfo) }),
});

export const deleteSnapshot = defineOperation({
  mcp: "snapshot_delete",
  summary: "Delete a named snapshot (the baseline cannot be deleted)",
  input: workspaceId.extend({ snapshot_name: snapshotName }),
  result: z.object({ workspace_id: z.string(), name: z.string(), deleted: z.boolean() }),
});

export const resetWorkspace = defineOperation({
  mcp: "workspace_reset",
  summary: "Recreate the machine and restore /workspace from the baseline or a snapshot",
  details: "Changes since that snapshot are lost, running services and shells end; secrets are materialised again.",
  input: workspaceId.extend({
    snapshot: z.string().default(DEFAULTS.reset_snapshot).describe(`Snapshot to restore (default ${DEFAULTS.reset_snapshot})`),
  }),
  result: workspaceInfo.extend({ restored_from: z.string() }),
});

export const stopWorkspace = defineOperation({
  mcp: "workspace_stop",
  summary: "Flush the guest filesystem and shut the workspace down cleanly",
  input: workspaceId,
  result: workspaceInfo,
});

export const startWorkspace = defineOperation({
  mcp: "workspace_start",
  summary: "Boot a stopped workspace again",
  input: workspaceId,
  result: workspaceInfo,
});

const diskEntry = z.object({
  path: z.string(),
  kind: z.enum(["file", "directory", "symlink", "other"]),
  size: z.number().int(),
  mode: z.string(),
});

export const listWorkspaceDisk = defineOperation({
  mcp: "workspace_disk_list",
  summary: "List a directory of a stopped workspace's disk (offline)",
  input: workspaceId.extend({ path: z.string().default("/workspace").describe("Directory (default /workspace)") }),
  result: z.object({ workspace_id: z.string(), path: z.string(), entries: z.array(diskEntry) }),
});

export const readWorkspaceDisk = defineOperation({
  mcp: "workspace_disk_read",
  summary: "Read a file of a stopped workspace's disk (offline)",
  details: "Needs a stopped, guest-backed workspace (workspace_stop first). content keeps at most 1 MiB (truncated says when cut); secret values are redacted.",
  input: workspaceId.extend({
    path: z.string().min(1).describe("File on the guest disk: absolute, or relative to /workspace (default root); symlinks are not followed"),
  }),
  result: z.object({ workspace_id: z.string(), path: z.string(), content: z.string(), truncated: z.boolean(), bytes: z.number().int() }),
});

export const exportWorkspaceDisk = defineOperation({
  mcp: "workspace_disk_export",
  summary: "Export a stopped workspace's disk as a raw ext4 image",
  input: workspaceId.extend({ output_path: z.string().min(1).describe("Host path of the .ext4 file to write") }),
  result: z.object({ workspace_id: z.string(), output_path: z.string(), bytes: z.number().int() }),
});
