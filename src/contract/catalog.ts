import type { z } from "zod";
import * as vms from "./operations/vms.js";
import * as environments from "./operations/environments.js";
import * as workspaces from "./operations/workspaces.js";
import * as shells from "./operations/shells.js";
import * as services from "./operations/services.js";
import { updateWorkspace } from "./operations/workspace-update.js";
import * as files from "./operations/files.js";
import * as commands from "./operations/commands.js";
import * as pool from "./operations/pool.js";
import * as pause from "./operations/pause.js";

/**
 * Every public operation, keyed by its SDK method name. The SDK, the CLI and
 * the MCP server are each typed as a total mapping over this object, so an
 * operation added here without a binding on every face fails the typecheck.
 */
export const OPERATIONS = {
  runInVm: vms.runInVm,
  createVm: vms.createVm,
  startVm: vms.startVm,
  execVm: vms.execVm,
  stopVm: vms.stopVm,
  deleteVm: vms.deleteVm,
  statusVm: vms.statusVm,
  networkInfoVm: vms.networkInfoVm,
  reapExpired: vms.reapExpired,
  listEnvironments: environments.listEnvironments,
  pullEnvironment: environments.pullEnvironment,
  inspectEnvironment: environments.inspectEnvironment,
  pruneEnvironments: environments.pruneEnvironments,
  doctor: environments.doctor,
  createWorkspace: workspaces.createWorkspace,
  listWorkspaces: workspaces.listWorkspaces,
  updateWorkspace,
  pushWorkspaceSync: workspaces.pushWorkspaceSync,
  execWorkspace: workspaces.execWorkspace,
  statusWorkspace: workspaces.statusWorkspace,
  logsWorkspace: workspaces.logsWorkspace,
  deleteWorkspace: workspaces.deleteWorkspace,
  diffWorkspace: workspaces.diffWorkspace,
  exportWorkspace: workspaces.exportWorkspace,
  createSnapshot: workspaces.createSnapshot,
  listSnapshots: workspaces.listSnapshots,
  deleteSnapshot: workspaces.deleteSnapshot,
  resetWorkspace: workspaces.resetWorkspace,
  stopWorkspace: workspaces.stopWorkspace,
  startWorkspace: workspaces.startWorkspace,
  listWorkspaceDisk: workspaces.listWorkspaceDisk,
  readWorkspaceDisk: workspaces.readWorkspaceDisk,
  exportWorkspaceDisk: workspaces.exportWorkspaceDisk,
  listWorkspaceFiles: files.listWorkspaceFiles,
  readWorkspaceFile: files.readWorkspaceFile,
  writeWorkspaceFile: files.writeWorkspaceFile,
  applyWorkspacePatch: files.applyWorkspacePatch,
  openShell: shells.openShell,
  readShell: shells.readShell,
  writeShell: shells.writeShell,
  signalShell: shells.signalShell,
  closeShell: shells.closeShell,
  startService: services.startService,
  listServices: services.listServices,
  statusService: services.statusService,
  logsService: services.logsService,
  stopService: services.stopService,
  listWorkspaceCommands: commands.listCommands,
  statusWorkspaceCommand: commands.statusCommand,
  logsWorkspaceCommand: commands.logsCommand,
  waitWorkspaceCommand: commands.waitCommand,
  killWorkspaceCommand: commands.killCommand,
  statusPool: pool.statusPool,
  drainPool: pool.drainPool,
  pauseWorkspace: pause.pauseWorkspace,
  resumeWorkspace: pause.resumeWorkspace,
  forkWorkspace: pause.forkWorkspace,
} as const;

/** SDK method name of an operation. */
export type OperationName = keyof typeof OPERATIONS;

/** What a caller may pass (defaults optional). */
export type OperationInput<K extends OperationName> = z.input<(typeof OPERATIONS)[K]["input"]>;

/** The validated input, defaults applied: what implementations receive. */
export type ParsedInput<K extends OperationName> = z.output<(typeof OPERATIONS)[K]["input"]>;

/** The result object every face returns for the operation. */
export type OperationResult<K extends OperationName> = z.output<(typeof OPERATIONS)[K]["result"]>;

/** All operation names, in catalog order. */
export const OPERATION_NAMES = Object.keys(OPERATIONS) as OperationName[];

/**
 * Operations whose result shape the input decides; their SDK methods are
 * generic in the input so the result type narrows (see {@link ResultFor}).
 */
export const NARROWED_RESULTS: ReadonlySet<OperationName> = new Set<NarrowedOperation>(["execWorkspace"]);

/** The operations of {@link NARROWED_RESULTS}. */
export type NarrowedOperation = "execWorkspace";

/**
 * The result of calling `K` with input `I`: {@link OperationResult}, narrowed
 * where the input decides the shape. `execWorkspace` with `background: true`
 * returns the started command (`background: true`, `command_id`), without it
 * the finished command; with a `background` known only as a boolean, either.
 */
export type ResultFor<K extends OperationName, I> = K extends "execWorkspace"
  ? [BackgroundOf<I>] extends [true]
    ? Extract<OperationResult<K>, { background: true }>
    : [BackgroundOf<I>] extends [false | undefined]
      ? Exclude<OperationResult<K>, { background: true }>
      : OperationResult<K>
  : OperationResult<K>;

/** The type of an input's `background` field (`false` when it has none). */
type BackgroundOf<I> = "background" extends keyof I ? (I extends { background?: infer B } ? B : never) : false;
