import { LIMITS, OPERATIONS, type CallOptions, type OperationName, type OperationResult, type ParsedInput } from "../contract/index.js";
import type { CoreContext } from "./context.js";
import { EnvironmentService, environmentsInUse } from "./environments.js";
import { runDoctor } from "./doctor.js";
import { VmService } from "./vms/service.js";
import { diffWorkspace } from "./workspaces/diff.js";
import { exportWorkspaceDisk, listWorkspaceDisk, readWorkspaceDisk } from "./workspaces/disk.js";
import { exportWorkspace } from "./workspaces/export.js";
import { listWorkspaceFiles, readWorkspaceFile, writeWorkspaceFile } from "./workspaces/files.js";
import { applyWorkspacePatch } from "./workspaces/patch.js";
import { resetWorkspace } from "./workspaces/reset.js";
import { updateWorkspace } from "./workspaces/names.js";
import { WorkspaceService } from "./workspaces/service.js";
import { createSnapshot, deleteSnapshot, listSnapshots } from "./workspaces/snapshots.js";
import { pushSync } from "./workspaces/sync.js";
import { withWorkspaceRedaction } from "./workspaces/guard.js";
import { withUse } from "./workspaces/ttl.js";
import { ServiceService } from "./workspaces/services.js";
import { ShellService } from "./workspaces/shells.js";
import { CommandService } from "./workspaces/commands.js";
import { MachinePool, poolOf } from "./pool/pool.js";
import { pauseWorkspace, resumeWorkspace } from "./workspaces/pause.js";
import { forkWorkspace } from "./workspaces/fork.js";

/**
 * The implementation of one operation: validated input in, result out. The
 * call's options matter only to the operations that run a command (live
 * output, abort, signals); the rest ignore them.
 */
export type Handler<K extends OperationName> = (input: ParsedInput<K>, options?: CallOptions) => Promise<OperationResult<K>>;

/** One handler per operation; the mapped type makes a missing one a type error. */
export type Handlers = { [K in OperationName]: Handler<K> };

/** The operations on one existing workspace (their input names it). */
type WorkspaceOperation = { [K in OperationName]: ParsedInput<K> extends { workspace_id: string } ? K : never }[OperationName];

/** Wire every operation to the core services of one context. */
export function createHandlers(context: CoreContext): Handlers {
  const vms = new VmService(context);
  const environments = new EnvironmentService(context);
  const workspaces = new WorkspaceService(context);
  // Whatever a workspace operation returns or throws may carry guest text (a
  // file named after a secret, output, errors): redact that workspace's
  // secrets from all of it, every string of the result, in one place.
  const guarded =
    <K extends WorkspaceOperation>(name: K, fn: Handler<K>): Handler<K> =>
    (input, options) =>
      withWorkspaceRedaction(workspaces, (input as { workspace_id: string }).workspace_id, OPERATIONS[name].result, () => fn(input, options));
  // A workspace's TTL is an idle timeout: every operation that acts on it extends it (ttl.ts);
  // only status, list, logs and snapshot list, which read pyro's own records, do not.
  const used = <R>(workspaceId: string, fn: () => Promise<R>, busySeconds = 0): Promise<R> => withUse(workspaces, workspaceId, fn, busySeconds);
  const shells = new ShellService(workspaces);
  const services = new ServiceService(workspaces);
  const commands = new CommandService(workspaces);
  const pool = poolOf(context);
  return afterEach(pool, {
    runInVm: (input, options) => vms.run(input, options),
    createVm: (input) => vms.create(input),
    startVm: (input) => vms.start(input.vm_id),
    execVm: (input, options) => vms.exec(input, options),
    stopVm: (input) => vms.stop(input.vm_id),
    deleteVm: (input) => vms.delete(input.vm_id),
    statusVm: (input) => vms.status(input.vm_id),
    networkInfoVm: (input) => vms.networkInfo(input.vm_id),
    reapExpired: async () => {
      await pool.reap().catch(() => undefined);
      const reaped_vms = await vms.reapExpired();
      const reaped_workspaces = await workspaces.reapExpired();
      return { reaped_vms, reaped_workspaces, count: reaped_vms.length + reaped_workspaces.length };
    },
    listEnvironments: () => environments.list(),
    pullEnvironment: (input) => environments.pull(input.environment),
    inspectEnvironment: (input) => environments.inspect(input.environment),
    pruneEnvironments: async () => environments.prune(await environmentsInUse([vms.records, workspaces.records])),
    doctor: () => runDoctor(context),
    createWorkspace: (input) => workspaces.create(input),
    listWorkspaces: (input) => workspaces.list(input.labels),
    // A rename is a use of the workspace like any other (ttl.ts), though it only touches the record.
    updateWorkspace: guarded("updateWorkspace", (input) => used(input.workspace_id, () => updateWorkspace(workspaces, input))),
    pushWorkspaceSync: guarded("pushWorkspaceSync", (input) => used(input.workspace_id, () => pushSync(workspaces, input))),
    execWorkspace: guarded("execWorkspace", (input, options) =>
      input.background
        ? used(input.workspace_id, () => commands.start(input))
        : used(input.workspace_id, () => workspaces.exec(input, options), input.timeout_seconds),
    ),
    statusWorkspace: guarded("statusWorkspace", (input) => workspaces.status(input.workspace_id)),
    logsWorkspace: guarded("logsWorkspace", (input) => workspaces.logs(input.workspace_id)),
    deleteWorkspace: guarded("deleteWorkspace", (input) => workspaces.delete(input.workspace_id)),
    diffWorkspace: guarded("diffWorkspace", (input) => used(input.workspace_id, () => diffWorkspace(workspaces, input.workspace_id))),
    exportWorkspace: guarded("exportWorkspace", (input) => used(input.workspace_id, () => exportWorkspace(workspaces, input))),
    createSnapshot: guarded("createSnapshot", (input) => used(input.workspace_id, () => createSnapshot(workspaces, input))),
    listSnapshots: guarded("listSnapshots", (input) => listSnapshots(workspaces, input.workspace_id)),
    deleteSnapshot: guarded("deleteSnapshot", (input) => used(input.workspace_id, () => deleteSnapshot(workspaces, input))),
    resetWorkspace: guarded("resetWorkspace", (input) => used(input.workspace_id, () => resetWorkspace(workspaces, input))),
    stopWorkspace: guarded("stopWorkspace", (input) => used(input.workspace_id, () => workspaces.stop(input.workspace_id))),
    startWorkspace: guarded("startWorkspace", (input) => used(input.workspace_id, () => workspaces.start(input.workspace_id))),
    listWorkspaceDisk: guarded("listWorkspaceDisk", (input) => used(input.workspace_id, () => listWorkspaceDisk(workspaces, input))),
    readWorkspaceDisk: guarded("readWorkspaceDisk", (input) => used(input.workspace_id, () => readWorkspaceDisk(workspaces, input))),
    exportWorkspaceDisk: guarded("exportWorkspaceDisk", (input) => used(input.workspace_id, () => exportWorkspaceDisk(workspaces, input))),
    listWorkspaceFiles: guarded("listWorkspaceFiles", (input) => used(input.workspace_id, () => listWorkspaceFiles(workspaces, input))),
    readWorkspaceFile: guarded("readWorkspaceFile", (input) => used(input.workspace_id, () => readWorkspaceFile(workspaces, input))),
    writeWorkspaceFile: guarded("writeWorkspaceFile", (input) => used(input.workspace_id, () => writeWorkspaceFile(workspaces, input))),
    applyWorkspacePatch: guarded("applyWorkspacePatch", (input) => used(input.workspace_id, () => applyWorkspacePatch(workspaces, input))),
    openShell: guarded("openShell", (input) => used(input.workspace_id, () => shells.open(input))),
    // A read that waits for quiet output may take the whole idle-wait bound.
    readShell: guarded("readShell", (input) =>
      used(input.workspace_id, () => shells.read(input), input.wait_for_idle_ms === undefined ? 0 : LIMITS.shell_idle_wait_seconds),
    ),
    writeShell: guarded("writeShell", (input) => used(input.workspace_id, () => shells.write(input))),
    signalShell: guarded("signalShell", (input) => used(input.workspace_id, () => shells.signal(input))),
    closeShell: guarded("closeShell", (input) => used(input.workspace_id, () => shells.close(input))),
    startService: guarded("startService", (input) => used(input.workspace_id, () => services.start(input), input.ready_timeout_seconds)),
    listServices: guarded("listServices", (input) => used(input.workspace_id, () => services.list(input.workspace_id))),
    statusService: guarded("statusService", (input) => used(input.workspace_id, () => services.status(input))),
    logsService: guarded("logsService", (input) => used(input.workspace_id, () => services.logs(input))),
    stopService: guarded("stopService", (input) => used(input.workspace_id, () => services.stop(input))),
    // Polling a background command is a use: it keeps the workspace (and the command) from being reaped.
    listWorkspaceCommands: guarded("listWorkspaceCommands", (input) => used(input.workspace_id, () => commands.list(input.workspace_id))),
    statusWorkspaceCommand: guarded("statusWorkspaceCommand", (input) => used(input.workspace_id, () => commands.status(input))),
    logsWorkspaceCommand: guarded("logsWorkspaceCommand", (input) => used(input.workspace_id, () => commands.logs(input))),
    waitWorkspaceCommand: guarded("waitWorkspaceCommand", (input) => used(input.workspace_id, () => commands.wait(input), input.timeout_seconds)),
    killWorkspaceCommand: guarded("killWorkspaceCommand", (input) => used(input.workspace_id, () => commands.kill(input))),
    pauseWorkspace: guarded("pauseWorkspace", (input) => used(input.workspace_id, () => pauseWorkspace(workspaces, input.workspace_id))),
    resumeWorkspace: guarded("resumeWorkspace", (input) => used(input.workspace_id, () => resumeWorkspace(workspaces, input.workspace_id))),
    forkWorkspace: guarded("forkWorkspace", (input) => used(input.workspace_id, () => forkWorkspace(workspaces, input))),
    statusPool: async () => {
      // This process's refill in flight counts as in the pool.
      await pool.settled();
      const machines = await pool.status();
      return { ...pool.summary(), count: machines.length, machines };
    },
    drainPool: async () => {
      await pool.settled();
      const drained = await pool.drain();
      return { drained, count: drained.length };
    },
  });
}

/**
 * Every handler, followed by the pool's refill of the shapes it booted
 * (core/pool): after the operation, never beside its command, and in the
 * background (the result does not wait for it). A refill only starts
 * detached processes; its failures cost the pool, not the operation.
 */
function afterEach(pool: MachinePool, handlers: Handlers): Handlers {
  const wrapped: Record<string, Handler<OperationName>> = {};
  for (const [name, handler] of Object.entries(handlers) as Array<[OperationName, Handler<OperationName>]>) {
    wrapped[name] = async (input, options) => {
      try {
        return await handler(input, options);
      } finally {
        pool.closeSessions();
        pool.flushInBackground();
      }
    };
  }
  return wrapped as Handlers;
}
