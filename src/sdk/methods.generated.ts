// Generated from the operation catalog (src/contract/catalog.ts) by scripts/generate-sdk-methods.mjs: do not edit.
// `npm run generate:sdk` rewrites it (so does the build); test/sdk/methods.test.ts fails while it is stale.
import type { OperationInput, OperationName, OperationResult } from "../contract/index.js";

/**
 * One typed, documented method per operation of the catalog, each a call of
 * {@link OperationMethods.call}. `Pyro` extends this class and implements `call`.
 */
export abstract class OperationMethods {
  /**
   * Call an operation by its SDK name. The input is validated against the
   * operation's schema (failures are `invalid_argument`), and the result
   * against its contract.
   */
  abstract call<K extends OperationName>(name: K, input?: unknown): Promise<OperationResult<K>>;

  /**
   * Run one command in a fresh VM and delete the VM afterwards.
   *
   * Nothing survives the call: use workspace_create and workspace_exec to keep files between
   * commands. stdout and stderr keep at most 1 MiB (1048576 bytes) each; past that, output is
   * dropped and stdout_truncated/stderr_truncated is true. The text content of the result carries a
   * summary and a bounded excerpt of the output; structuredContent carries all of it.
   *
   * MCP tool `vm_run`.
   */
  runInVm(input: OperationInput<"runInVm">): Promise<OperationResult<"runInVm">> {
    return this.call("runInVm", input);
  }

  /**
   * Create a VM record without starting it.
   *
   * MCP tool `vm_create`.
   */
  createVm(input: OperationInput<"createVm">): Promise<OperationResult<"createVm">> {
    return this.call("createVm", input);
  }

  /**
   * Boot a created VM.
   *
   * MCP tool `vm_start`.
   */
  startVm(input: OperationInput<"startVm">): Promise<OperationResult<"startVm">> {
    return this.call("startVm", input);
  }

  /**
   * Run one command in a started VM, then delete the VM.
   *
   * The VM is deleted after this one command, whatever its exit code (the result's cleanup says so):
   * a second vm_exec on it fails with not_found. Use a workspace (workspace_create, workspace_exec)
   * to run several commands in one machine. stdout and stderr keep at most 1 MiB (1048576 bytes)
   * each; past that, output is dropped and stdout_truncated/stderr_truncated is true. The text
   * content of the result carries a summary and a bounded excerpt of the output; structuredContent
   * carries all of it.
   *
   * MCP tool `vm_exec`.
   */
  execVm(input: OperationInput<"execVm">): Promise<OperationResult<"execVm">> {
    return this.call("execVm", input);
  }

  /**
   * Shut a VM down cleanly, keeping its record.
   *
   * MCP tool `vm_stop`.
   */
  stopVm(input: OperationInput<"stopVm">): Promise<OperationResult<"stopVm">> {
    return this.call("stopVm", input);
  }

  /**
   * Stop a VM if needed and remove everything it left.
   *
   * MCP tool `vm_delete`.
   */
  deleteVm(input: OperationInput<"deleteVm">): Promise<OperationResult<"deleteVm">> {
    return this.call("deleteVm", input);
  }

  /**
   * Report a VM's state.
   *
   * MCP tool `vm_status`.
   */
  statusVm(input: OperationInput<"statusVm">): Promise<OperationResult<"statusVm">> {
    return this.call("statusVm", input);
  }

  /**
   * Report a VM's network configuration.
   *
   * MCP tool `vm_network_info`.
   */
  networkInfoVm(input: OperationInput<"networkInfoVm">): Promise<OperationResult<"networkInfoVm">> {
    return this.call("networkInfoVm", input);
  }

  /**
   * Delete every expired VM (ttl_seconds after create) and every expired workspace (idle for its
   * ttl_seconds), with their machines and files.
   *
   * Deletes expired workspaces with all their files, snapshots and logs. Also drops pooled machines
   * idle longer than PYRO_POOL_IDLE_SECONDS.
   *
   * MCP tool `vm_reap_expired`.
   */
  reapExpired(input?: OperationInput<"reapExpired">): Promise<OperationResult<"reapExpired">> {
    return this.call("reapExpired", input);
  }

  /**
   * List the environment catalog and what is installed.
   *
   * MCP tool `vm_list_environments`.
   */
  listEnvironments(input?: OperationInput<"listEnvironments">): Promise<OperationResult<"listEnvironments">> {
    return this.call("listEnvironments", input);
  }

  /**
   * Install an environment: pull it from its OCI registry or build it from Debian's archive.
   *
   * SDK and CLI only: no MCP tool.
   */
  pullEnvironment(input: OperationInput<"pullEnvironment">): Promise<OperationResult<"pullEnvironment">> {
    return this.call("pullEnvironment", input);
  }

  /**
   * Show an environment's install state, paths, digests and size.
   *
   * SDK and CLI only: no MCP tool.
   */
  inspectEnvironment(input: OperationInput<"inspectEnvironment">): Promise<OperationResult<"inspectEnvironment">> {
    return this.call("inspectEnvironment", input);
  }

  /**
   * Remove stale or broken cache entries and report what was freed.
   *
   * SDK and CLI only: no MCP tool.
   */
  pruneEnvironments(input?: OperationInput<"pruneEnvironments">): Promise<OperationResult<"pruneEnvironments">> {
    return this.call("pruneEnvironments", input);
  }

  /**
   * Check this host: platform, KVM, backends, environment cache, capabilities, networking.
   *
   * SDK and CLI only: no MCP tool.
   */
  doctor(input?: OperationInput<"doctor">): Promise<OperationResult<"doctor">> {
    return this.call("doctor", input);
  }

  /**
   * Create and start a persistent workspace, optionally seeded from a directory or archive.
   *
   * MCP tool `workspace_create`.
   */
  createWorkspace(input: OperationInput<"createWorkspace">): Promise<OperationResult<"createWorkspace">> {
    return this.call("createWorkspace", input);
  }

  /**
   * List workspaces.
   *
   * MCP tool `workspace_list`.
   */
  listWorkspaces(input?: OperationInput<"listWorkspaces">): Promise<OperationResult<"listWorkspaces">> {
    return this.call("listWorkspaces", input);
  }

  /**
   * Copy a host directory or archive into a running workspace (not atomic; reset recovers).
   *
   * MCP tool `workspace_sync_push`.
   */
  pushWorkspaceSync(input: OperationInput<"pushWorkspaceSync">): Promise<OperationResult<"pushWorkspaceSync">> {
    return this.call("pushWorkspaceSync", input);
  }

  /**
   * Run one command in a workspace's /workspace; the workspace stays alive.
   *
   * stdout and stderr keep at most 1 MiB (1048576 bytes) each; past that, output is dropped and
   * stdout_truncated/stderr_truncated is true. The text content of the result carries a summary and
   * a bounded excerpt of the output; structuredContent carries all of it.
   *
   * MCP tool `workspace_exec`.
   */
  execWorkspace(input: OperationInput<"execWorkspace">): Promise<OperationResult<"execWorkspace">> {
    return this.call("execWorkspace", input);
  }

  /**
   * Report a workspace's state and how /workspace was seeded.
   *
   * MCP tool `workspace_status`.
   */
  statusWorkspace(input: OperationInput<"statusWorkspace">): Promise<OperationResult<"statusWorkspace">> {
    return this.call("statusWorkspace", input);
  }

  /**
   * Show a workspace's command history.
   *
   * MCP tool `workspace_logs`.
   */
  logsWorkspace(input: OperationInput<"logsWorkspace">): Promise<OperationResult<"logsWorkspace">> {
    return this.call("logsWorkspace", input);
  }

  /**
   * Stop a workspace and remove all its state.
   *
   * Removes /workspace, its snapshots, services, shells and logs for good; export what you need
   * first.
   *
   * MCP tool `workspace_delete`.
   */
  deleteWorkspace(input: OperationInput<"deleteWorkspace">): Promise<OperationResult<"deleteWorkspace">> {
    return this.call("deleteWorkspace", input);
  }

  /**
   * Compare the live /workspace with its create-time baseline.
   *
   * MCP tool `workspace_diff`.
   */
  diffWorkspace(input: OperationInput<"diffWorkspace">): Promise<OperationResult<"diffWorkspace">> {
    return this.call("diffWorkspace", input);
  }

  /**
   * Copy one file or directory out of /workspace to a host path.
   *
   * MCP tool `workspace_export`.
   */
  exportWorkspace(input: OperationInput<"exportWorkspace">): Promise<OperationResult<"exportWorkspace">> {
    return this.call("exportWorkspace", input);
  }

  /**
   * Save a named checkpoint of /workspace.
   *
   * MCP tool `snapshot_create`.
   */
  createSnapshot(input: OperationInput<"createSnapshot">): Promise<OperationResult<"createSnapshot">> {
    return this.call("createSnapshot", input);
  }

  /**
   * List a workspace's snapshots, baseline included.
   *
   * MCP tool `snapshot_list`.
   */
  listSnapshots(input: OperationInput<"listSnapshots">): Promise<OperationResult<"listSnapshots">> {
    return this.call("listSnapshots", input);
  }

  /**
   * Delete a named snapshot (the baseline cannot be deleted).
   *
   * MCP tool `snapshot_delete`.
   */
  deleteSnapshot(input: OperationInput<"deleteSnapshot">): Promise<OperationResult<"deleteSnapshot">> {
    return this.call("deleteSnapshot", input);
  }

  /**
   * Recreate the machine and restore /workspace from the baseline or a snapshot.
   *
   * Changes since that snapshot are lost, running services and shells end; secrets are materialised
   * again.
   *
   * MCP tool `workspace_reset`.
   */
  resetWorkspace(input: OperationInput<"resetWorkspace">): Promise<OperationResult<"resetWorkspace">> {
    return this.call("resetWorkspace", input);
  }

  /**
   * Flush the guest filesystem and shut the workspace down cleanly.
   *
   * MCP tool `workspace_stop`.
   */
  stopWorkspace(input: OperationInput<"stopWorkspace">): Promise<OperationResult<"stopWorkspace">> {
    return this.call("stopWorkspace", input);
  }

  /**
   * Boot a stopped workspace again.
   *
   * MCP tool `workspace_start`.
   */
  startWorkspace(input: OperationInput<"startWorkspace">): Promise<OperationResult<"startWorkspace">> {
    return this.call("startWorkspace", input);
  }

  /**
   * List a directory of a stopped workspace's disk (offline).
   *
   * MCP tool `workspace_disk_list`.
   */
  listWorkspaceDisk(input: OperationInput<"listWorkspaceDisk">): Promise<OperationResult<"listWorkspaceDisk">> {
    return this.call("listWorkspaceDisk", input);
  }

  /**
   * Read a file of a stopped workspace's disk (offline).
   *
   * Needs a stopped, guest-backed workspace (workspace_stop first). content keeps at most 1 MiB
   * (truncated says when cut); secret values are redacted.
   *
   * MCP tool `workspace_disk_read`.
   */
  readWorkspaceDisk(input: OperationInput<"readWorkspaceDisk">): Promise<OperationResult<"readWorkspaceDisk">> {
    return this.call("readWorkspaceDisk", input);
  }

  /**
   * Export a stopped workspace's disk as a raw ext4 image.
   *
   * MCP tool `workspace_disk_export`.
   */
  exportWorkspaceDisk(input: OperationInput<"exportWorkspaceDisk">): Promise<OperationResult<"exportWorkspaceDisk">> {
    return this.call("exportWorkspaceDisk", input);
  }

  /**
   * Open a persistent PTY shell in a workspace.
   *
   * MCP tool `shell_open`.
   */
  openShell(input: OperationInput<"openShell">): Promise<OperationResult<"openShell">> {
    return this.call("openShell", input);
  }

  /**
   * Read a shell's output from a cursor.
   *
   * MCP tool `shell_read`.
   */
  readShell(input: OperationInput<"readShell">): Promise<OperationResult<"readShell">> {
    return this.call("readShell", input);
  }

  /**
   * Write input to a shell.
   *
   * MCP tool `shell_write`.
   */
  writeShell(input: OperationInput<"writeShell">): Promise<OperationResult<"writeShell">> {
    return this.call("writeShell", input);
  }

  /**
   * Send a signal to a shell's foreground process.
   *
   * MCP tool `shell_signal`.
   */
  signalShell(input: OperationInput<"signalShell">): Promise<OperationResult<"signalShell">> {
    return this.call("signalShell", input);
  }

  /**
   * Close a shell.
   *
   * MCP tool `shell_close`.
   */
  closeShell(input: OperationInput<"closeShell">): Promise<OperationResult<"closeShell">> {
    return this.call("closeShell", input);
  }

  /**
   * Start a named background service with an optional readiness check.
   *
   * MCP tool `service_start`.
   */
  startService(input: OperationInput<"startService">): Promise<OperationResult<"startService">> {
    return this.call("startService", input);
  }

  /**
   * List a workspace's services.
   *
   * MCP tool `service_list`.
   */
  listServices(input: OperationInput<"listServices">): Promise<OperationResult<"listServices">> {
    return this.call("listServices", input);
  }

  /**
   * Report one service's state.
   *
   * MCP tool `service_status`.
   */
  statusService(input: OperationInput<"statusService">): Promise<OperationResult<"statusService">> {
    return this.call("statusService", input);
  }

  /**
   * Show the tail of a service's stdout and stderr.
   *
   * MCP tool `service_logs`.
   */
  logsService(input: OperationInput<"logsService">): Promise<OperationResult<"logsService">> {
    return this.call("logsService", input);
  }

  /**
   * Stop a service: TERM, then KILL after a grace period.
   *
   * MCP tool `service_stop`.
   */
  stopService(input: OperationInput<"stopService">): Promise<OperationResult<"stopService">> {
    return this.call("stopService", input);
  }

  /**
   * List the pooled machines: restored from their shape's boot snapshot and held paused, ready for
   * the next VM or workspace of that shape.
   *
   * QEMU only. A pooled machine costs memory but no CPU; one idle longer than PYRO_POOL_IDLE_SECONDS
   * is dropped by the next pool use or vm_reap_expired. The pool is shared by every pyro process of
   * the state directory.
   *
   * MCP tool `pool_status`.
   */
  statusPool(input?: OperationInput<"statusPool">): Promise<OperationResult<"statusPool">> {
    return this.call("statusPool", input);
  }

  /**
   * Kill every pooled machine and free its memory; the pool refills after the next VM or workspace
   * of a shape.
   *
   * MCP tool `pool_drain`.
   */
  drainPool(input?: OperationInput<"drainPool">): Promise<OperationResult<"drainPool">> {
    return this.call("drainPool", input);
  }

  /**
   * Pause a running workspace with its memory: shells, services and background commands resume as
   * they were.
   *
   * qemu backend only (the sandbox answers unsupported). The machine's memory and device state are
   * saved next to its disk and its process ends: a paused workspace costs disk space, no CPU or
   * memory. Open TCP connections do not survive; published ports are bound again on resume. A
   * command running during the pause is ended. stop/start keep their cold meaning.
   *
   * MCP tool `workspace_pause`.
   */
  pauseWorkspace(input: OperationInput<"pauseWorkspace">): Promise<OperationResult<"pauseWorkspace">> {
    return this.call("pauseWorkspace", input);
  }

  /**
   * Resume a paused workspace from its saved memory (clock stepped to the host's, entropy reseeded).
   *
   * If the saved state cannot be resumed (damaged, another QEMU), the call fails and the workspace
   * can still be started cold with workspace_start.
   *
   * MCP tool `workspace_resume`.
   */
  resumeWorkspace(input: OperationInput<"resumeWorkspace">): Promise<OperationResult<"resumeWorkspace">> {
    return this.call("resumeWorkspace", input);
  }

  /**
   * Fork a running workspace, disk and memory: a new workspace in which the same shells, services
   * and processes continue, with its own id, hostname and entropy.
   *
   * qemu backend only (the sandbox answers unsupported). The source is paused only while its memory
   * and disk are copied (copy-on-write where the filesystem can), then runs on; writes after the
   * fork are not shared either way. Workspaces with published ports cannot be forked.
   *
   * MCP tool `workspace_fork`.
   */
  forkWorkspace(input: OperationInput<"forkWorkspace">): Promise<OperationResult<"forkWorkspace">> {
    return this.call("forkWorkspace", input);
  }
}
