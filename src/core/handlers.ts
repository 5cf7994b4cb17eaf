import type { OperationName, OperationResult, ParsedInput } from "../contract/index.js";
import type { CoreContext } from "./context.js";
import { EnvironmentService } from "./environments.js";
import { runDoctor } from "./doctor.js";
import { VmService } from "./vms/service.js";
import { diffWorkspace } from "./workspaces/diff.js";
import { exportWorkspaceDisk, listWorkspaceDisk, readWorkspaceDisk } from "./workspaces/disk.js";
import { exportWorkspace } from "./workspaces/export.js";
import { resetWorkspace } from "./workspaces/reset.js";
import { WorkspaceService } from "./workspaces/service.js";
import { createSnapshot, deleteSnapshot, listSnapshots } from "./workspaces/snapshots.js";
import { pushSync } from "./workspaces/sync.js";
import { withWorkspaceRedaction } from "./workspaces/guard.js";
import { withUse } from "./workspaces/ttl.js";
import { ServiceService } from "./workspaces/services.js";
import { ShellService } from "./workspaces/shells.js";

/** The implementation of one operation: validated input in, result out. */
export type Handler<K extends OperationName> = (input: ParsedInput<K>) => Promise<OperationResult<K>>;

/** One handler per operation; the mapped type makes a missing one a type error. */
export type Handlers = { [K in OperationName]: Handler<K> };

/** Wire every operation to the core services of one context. */
export function createHandlers(context: CoreContext): Handlers {
  const vms = new VmService(context);
  const environments = new EnvironmentService(context);
  const workspaces = new WorkspaceService(context);
  // Whatever a workspace operation throws may quote guest text: redact that workspace's secrets from it.
  const redacted = <R>(workspaceId: string, fn: () => Promise<R>): Promise<R> => withWorkspaceRedaction(workspaces, workspaceId, fn);
  // A workspace's TTL is an idle timeout: every operation that acts on it extends it (ttl.ts);
  // only status, list, logs and snapshot list, which read pyro's own records, do not.
  const used = <R>(workspaceId: string, fn: () => Promise<R>, busySeconds = 0): Promise<R> => withUse(workspaces, workspaceId, fn, busySeconds);
  const guarded = <R>(workspaceId: string, fn: () => Promise<R>, busySeconds = 0): Promise<R> => used(workspaceId, () => redacted(workspaceId, fn), busySeconds);
  const shells = new ShellService(workspaces);
  const services = new ServiceService(workspaces);
  return {
    runInVm: (input) => vms.run(input),
    createVm: (input) => vms.create(input),
    startVm: (input) => vms.start(input.vm_id),
    execVm: (input) => vms.exec(input),
    stopVm: (input) => vms.stop(input.vm_id),
    deleteVm: (input) => vms.delete(input.vm_id),
    statusVm: (input) => vms.status(input.vm_id),
    networkInfoVm: (input) => vms.networkInfo(input.vm_id),
    reapExpired: async () => {
      const reaped_vms = await vms.reapExpired();
      const reaped_workspaces = await workspaces.reapExpired();
      return { reaped_vms, reaped_workspaces, count: reaped_vms.length + reaped_workspaces.length };
    },
    listEnvironments: () => environments.list(),
    pullEnvironment: (input) => environments.pull(input.environment),
    inspectEnvironment: (input) => environments.inspect(input.environment),
    pruneEnvironments: () => environments.prune(),
    doctor: () => runDoctor(context),
    createWorkspace: (input) => workspaces.create(input),
    listWorkspaces: () => workspaces.list(),
    pushWorkspaceSync: (input) => guarded(input.workspace_id, () => pushSync(workspaces, input)),
    execWorkspace: (input) => guarded(input.workspace_id, () => workspaces.exec(input), input.timeout_seconds),
    statusWorkspace: (input) => workspaces.status(input.workspace_id),
    logsWorkspace: (input) => workspaces.logs(input.workspace_id),
    deleteWorkspace: (input) => workspaces.delete(input.workspace_id),
    diffWorkspace: (input) => guarded(input.workspace_id, () => diffWorkspace(workspaces, input.workspace_id)),
    exportWorkspace: (input) => guarded(input.workspace_id, () => exportWorkspace(workspaces, input)),
    createSnapshot: (input) => guarded(input.workspace_id, () => createSnapshot(workspaces, input)),
    listSnapshots: (input) => listSnapshots(workspaces, input.workspace_id),
    deleteSnapshot: (input) => used(input.workspace_id, () => deleteSnapshot(workspaces, input)),
    resetWorkspace: (input) => guarded(input.workspace_id, () => resetWorkspace(workspaces, input)),
    stopWorkspace: (input) => used(input.workspace_id, () => workspaces.stop(input.workspace_id)),
    startWorkspace: (input) => guarded(input.workspace_id, () => workspaces.start(input.workspace_id)),
    listWorkspaceDisk: (input) => guarded(input.workspace_id, () => listWorkspaceDisk(workspaces, input)),
    readWorkspaceDisk: (input) => guarded(input.workspace_id, () => readWorkspaceDisk(workspaces, input)),
    exportWorkspaceDisk: (input) => guarded(input.workspace_id, () => exportWorkspaceDisk(workspaces, input)),
    openShell: (input) => used(input.workspace_id, () => shells.open(input)),
    readShell: (input) => used(input.workspace_id, () => shells.read(input)),
    writeShell: (input) => used(input.workspace_id, () => shells.write(input)),
    signalShell: (input) => used(input.workspace_id, () => shells.signal(input)),
    closeShell: (input) => used(input.workspace_id, () => shells.close(input)),
    startService: (input) => used(input.workspace_id, () => services.start(input), input.ready_timeout_seconds),
    listServices: (input) => used(input.workspace_id, () => services.list(input.workspace_id)),
    statusService: (input) => used(input.workspace_id, () => services.status(input)),
    logsService: (input) => used(input.workspace_id, () => services.logs(input)),
    stopService: (input) => used(input.workspace_id, () => services.stop(input)),
  };
}
