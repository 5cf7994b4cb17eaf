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
import { labelsInput, labelsResult, workspaceName } from "../labels.js";
import { SECRET_SOURCES, SEED_MODES, WORKSPACE_STATES } from "../../util/vocabulary.js";
import { BACKGROUND_NOTE, backgroundInput, backgroundStarted } from "./commands.js";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Which secrets to expose to one call, under which variables: a list of
 * `NAME` or `NAME=ENV_VAR`, or (the original's shape) an object
 * `{NAME: ENV_VAR}`. Both parse to the list, the one shape the rest of pyro
 * sees.
 */
export const secretEnv = z
  .union([
    z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(=[A-Za-z_][A-Za-z0-9_]*)?$/, "secret_env entries look like NAME or NAME=ENV_VAR")),
    z.record(
      z.string().regex(IDENTIFIER, "secret_env keys are secret names: letters, digits and underscores"),
      z.string().regex(IDENTIFIER, "secret_env values are environment variable names: letters, digits and underscores"),
    ),
  ])
  .transform((value) => (Array.isArray(value) ? value : Object.entries(value).map(([name, variable]) => `${name}=${variable}`)))
  .optional()
  .describe('Secrets to expose as environment variables for this call: a list of NAME or NAME=ENV_VAR (["TOKEN", "API_KEY=KEY"]), or an object {"SECRET_NAME": "ENV_VAR"}');

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
  name: z.string().nullable().describe("The workspace's human name; null when it has none"),
  labels: labelsResult,
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
  details: "Use a workspace once work needs more than one command on the same files (edit, build, test): returns workspace_id, which every workspace_*, shell_* and service_* tool takes. /workspace starts empty or with seed_path's content; its create-time state is the baseline that workspace_diff compares with and workspace_reset restores. The workspace is deleted once idle for ttl_seconds (default 600); name and labels help find it again (workspace_list). Delete it with workspace_delete when done.",
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
    name: workspaceName.optional(),
    labels: labelsInput
      .optional()
      .describe("Labels to find the workspace by later (workspace_list filters on them), {key: value}; keys never contain '='"),
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
  details: "Each workspace with its id, name, labels and state; labels filters (every given label must match). Reads pyro's records only: does not extend any workspace's idle timeout.",
  input: z.object({
    labels: labelsInput
      .optional()
      .describe("Only workspaces carrying every one of these labels with exactly these values, {key: value} (default: all)"),
  }),
  result: z.object({ workspaces: z.array(workspaceInfo) }),
});

export const pushWorkspaceSync = defineOperation({
  mcp: "workspace_sync_push",
  summary: "Copy a host directory or archive into a running workspace (not atomic; reset recovers)",
  details: "source_path is a path on the host running pyro (not in the guest); its content lands under dest (default /workspace), replacing files of the same name. Returns how many entries and bytes were copied.",
  input: workspaceId.extend({
    source_path: z.string().min(1).describe("Host directory or .tar/.tar.gz/.tgz archive"),
    dest: z.string().default(DEFAULTS.sync_dest).describe(`Destination under /workspace (default ${DEFAULTS.sync_dest})`),
  }),
  result: z.object({ workspace_id: z.string(), dest: z.string(), entries: z.number().int(), bytes: z.number().int() }),
});

export const execWorkspace = defineOperation({
  mcp: "workspace_exec",
  summary: "Run one command in a workspace's /workspace; the workspace stays alive",
  details: `The everyday tool of a workspace: /bin/sh -c COMMAND in /workspace, timeout_seconds (default 30). Files persist between calls, shell state (cd, variables) does not: chain with && or use shell_open for an interactive session. To read or edit a file, prefer workspace_file_read, workspace_file_write and workspace_patch_apply over shell quoting. secret_env exposes workspace secrets as environment variables for this call only. Returns exit_code, stdout, stderr, duration_ms and sequence (its number in workspace_logs). ${OUTPUT_NOTE} ${BACKGROUND_NOTE}`,
  input: workspaceId.extend({ command: shellCommand, timeout_seconds: timeoutSeconds, secret_env: secretEnv, background: backgroundInput }),
  // A background exec answers at once with its command_id (and `background: true`) instead of the finished command.
  result: z.union([z.object({ workspace_id: z.string(), sequence: z.number().int(), ...commandResultFields }), backgroundStarted]),
});

export const statusWorkspace = defineOperation({
  mcp: "workspace_status",
  summary: "Report a workspace's state and how /workspace was seeded",
  details: "state (running, stopped, dead, creating), name, labels, resources, network, published ports, secrets (names only), command_count and expires_at. Reads pyro's record only: does not extend the idle timeout.",
  input: workspaceId,
  result: workspaceInfo,
});

export const logsWorkspace = defineOperation({
  mcp: "workspace_logs",
  summary: "Show a workspace's command history",
  details: "Every workspace_exec so far: command, exit_code, when, how long, and its output (clipped). Does not extend the idle timeout.",
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
  details: "Returns changed, a summary (added, modified, deleted) and per file a unified diff (binary files are only flagged). Use it to review what commands or edits changed before export.",
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
  details: "output_path is on the host running pyro. Returns the kind copied, entries and bytes.",
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
  details: "Checkpoint before a risky change; workspace_reset with snapshot restores it. Only /workspace is saved (not processes or the rest of the disk).",
  input: workspaceId.extend({ snapshot_name: snapshotName }),
  result: snapshotInfo.extend({ workspace_id: z.string() }),
});

export const listSnapshots = defineOperation({
  mcp: "snapshot_list",
  summary: "List a workspace's snapshots, baseline included",
  details: "Names, creation times and sizes; baseline is the create-time state.",
  input: workspaceId,
  result: z.object({ workspace_id: z.string(), snapshots: z.array(snapshotInfo) }),
});

export const deleteSnapshot = defineOperation({
  mcp: "snapshot_delete",
  summary: "Delete a named snapshot (the baseline cannot be deleted)",
  details: "Frees its space; it can no longer be restored.",
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
  details: "/workspace and the disk are kept; workspace_start boots it again. A stopped workspace can be read offline with workspace_disk_list and workspace_disk_read.",
  input: workspaceId,
  result: workspaceInfo,
});

export const startWorkspace = defineOperation({
  mcp: "workspace_start",
  summary: "Boot a stopped workspace again",
  details: "Same disk, secrets materialised again; shells and services of the previous run are gone. Returns the workspace as workspace_status does.",
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
  details: "Needs a stopped, guest-backed workspace (workspace_stop first); on a running one use workspace_exec (ls) instead. path is absolute or relative to /workspace; recursive lists everything below it. Returns entries with path, kind, size (bytes) and mode.",
  input: workspaceId.extend({
    path: z.string().default("/workspace").describe("Directory (default /workspace)"),
    recursive: z.boolean().default(false).describe("List every entry below the directory, depth first, not just its own (default false; symlinks are not followed)"),
  }),
  result: z.object({ workspace_id: z.string(), path: z.string(), entries: z.array(diskEntry) }),
});

export const readWorkspaceDisk = defineOperation({
  mcp: "workspace_disk_read",
  summary: "Read a file of a stopped workspace's disk (offline)",
  details: "Needs a stopped, guest-backed workspace (workspace_stop first). content holds at most max_bytes (truncated says when cut, bytes is the file's size); secret values are redacted.",
  input: workspaceId.extend({
    path: z.string().min(1).describe("File on the guest disk: absolute, or relative to /workspace (default root); symlinks are not followed"),
    max_bytes: boundedInt({ min: 1, max: 1024 * 1024 }, DEFAULTS.disk_read_max_bytes, "Most bytes of the file to return, up to 1 MiB"),
  }),
  result: z.object({ workspace_id: z.string(), path: z.string(), content: z.string(), truncated: z.boolean(), bytes: z.number().int() }),
});

export const exportWorkspaceDisk = defineOperation({
  mcp: "workspace_disk_export",
  summary: "Export a stopped workspace's disk as a raw ext4 image",
  details: "Needs a stopped, guest-backed workspace. output_path is on the host; runtime-only state (secrets, service logs) is scrubbed from the copy.",
  input: workspaceId.extend({ output_path: z.string().min(1).describe("Host path of the .ext4 file to write") }),
  result: z.object({ workspace_id: z.string(), output_path: z.string(), bytes: z.number().int() }),
});
