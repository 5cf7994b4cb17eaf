import type { OperationName } from "./catalog.js";

/**
 * What an operation does to the world it touches: `read` changes nothing;
 * `add` only creates (machines, snapshots, files at new paths); `destroy` may
 * delete or overwrite state (machines, files, processes), which includes every
 * operation that runs an arbitrary command in a machine that outlives the call.
 */
export type Effect = "read" | "add" | "destroy";

/** How an operation behaves when called again; the MCP tool annotations derive from it. */
export interface OperationEffect {
  effect: Effect;
  /** A repeat call with the same input has no further effect (it may fail, e.g. not_found). */
  idempotent: boolean;
}

const read: OperationEffect = { effect: "read", idempotent: true };

/**
 * One entry per operation: an operation added to the catalog without one
 * fails the typecheck.
 */
export const OPERATION_EFFECTS: { readonly [K in OperationName]: OperationEffect } = {
  // A fresh machine, deleted afterwards: nothing that existed before is touched.
  runInVm: { effect: "add", idempotent: false },
  createVm: { effect: "add", idempotent: false },
  startVm: { effect: "add", idempotent: true },
  // Deletes the VM after its command.
  execVm: { effect: "destroy", idempotent: false },
  stopVm: { effect: "destroy", idempotent: true },
  deleteVm: { effect: "destroy", idempotent: true },
  statusVm: read,
  networkInfoVm: read,
  reapExpired: { effect: "destroy", idempotent: true },
  listEnvironments: read,
  pullEnvironment: { effect: "add", idempotent: true },
  inspectEnvironment: read,
  pruneEnvironments: { effect: "destroy", idempotent: true },
  doctor: read,
  statusPool: read,
  drainPool: { effect: "destroy", idempotent: true },
  // Ends a command running at the time.
  pauseWorkspace: { effect: "destroy", idempotent: true },
  resumeWorkspace: { effect: "add", idempotent: false },
  forkWorkspace: { effect: "add", idempotent: false },
  createWorkspace: { effect: "add", idempotent: false },
  listWorkspaces: read,
  // Replaces the name and labels it is given; a repeat changes nothing more.
  updateWorkspace: { effect: "destroy", idempotent: true },
  // Overwrites files of the same name under dest.
  pushWorkspaceSync: { effect: "destroy", idempotent: true },
  execWorkspace: { effect: "destroy", idempotent: false },
  statusWorkspace: read,
  logsWorkspace: read,
  deleteWorkspace: { effect: "destroy", idempotent: true },
  diffWorkspace: read,
  // May replace an existing regular file at the host output path.
  exportWorkspace: { effect: "destroy", idempotent: true },
  createSnapshot: { effect: "add", idempotent: false },
  listSnapshots: read,
  deleteSnapshot: { effect: "destroy", idempotent: true },
  resetWorkspace: { effect: "destroy", idempotent: true },
  stopWorkspace: { effect: "destroy", idempotent: true },
  startWorkspace: { effect: "add", idempotent: true },
  listWorkspaceDisk: read,
  readWorkspaceDisk: read,
  exportWorkspaceDisk: { effect: "destroy", idempotent: true },
  listWorkspaceFiles: read,
  readWorkspaceFile: read,
  // Replaces the file's content; the same text again changes nothing more.
  writeWorkspaceFile: { effect: "destroy", idempotent: true },
  // A second apply of the same patch fails (its hunks no longer match).
  applyWorkspacePatch: { effect: "destroy", idempotent: false },
  openShell: { effect: "add", idempotent: false },
  // The cursor is the caller's: reading moves nothing on the server.
  readShell: read,
  writeShell: { effect: "destroy", idempotent: false },
  signalShell: { effect: "destroy", idempotent: false },
  closeShell: { effect: "destroy", idempotent: true },
  startService: { effect: "destroy", idempotent: false },
  listServices: read,
  statusService: read,
  logsService: read,
  stopService: { effect: "destroy", idempotent: true },
  // Reading a background command changes nothing in the guest; the first call that sees it finished records it in the history (once).
  listWorkspaceCommands: read,
  statusWorkspaceCommand: read,
  logsWorkspaceCommand: read,
  waitWorkspaceCommand: read,
  killWorkspaceCommand: { effect: "destroy", idempotent: true },
};
