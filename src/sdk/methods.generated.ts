// Generated from the operation catalog (src/contract/catalog.ts) by scripts/generate.mjs: do not edit.
// `npm run generate:sdk` rewrites it (so does the build); test/sdk/methods.test.ts fails while it is stale.
import type { CallOptions, CommandCallOptions, CreateCallOptions, OperationInput, OperationName, OperationResult, ResultFor } from "../contract/index.js";

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
  abstract call<K extends OperationName>(name: K, input?: unknown, options?: CallOptions): Promise<OperationResult<K>>;

  /**
   * Run one command in a fresh VM and delete the VM afterwards.
   *
   * Start here for a one-off command (a build, a test run, a quick check) in a clean, isolated
   * Debian VM: each call gets a fresh VM, deleted afterwards, so nothing survives it. For repeated
   * commands on the same files, move to workspace_create and workspace_exec. timeout_seconds
   * (default 30) bounds the command; network is off unless network: true. Returns exit_code, stdout,
   * stderr, timed_out, duration_ms (milliseconds) and where it ran (backend, execution_mode). stdout
   * and stderr keep at most 1 MiB (1048576 bytes) each; past that, output is dropped and
   * stdout_truncated/stderr_truncated is true. The text content of the result carries a summary and
   * a bounded excerpt of the output; structuredContent carries all of it. For anything that may run
   * over a minute (builds, test suites, installs), use workspace_exec with background: true and poll
   * workspace_command_wait instead: a foreground call holds the tool call open, and only clients
   * that send a progressToken (which then receive progress notifications with the output) keep it
   * alive.
   *
   * MCP tool `vm_run`.
   *
   * `options` streams the command's output as it arrives (`onStdout`, `onStderr`, secrets redacted),
   * aborts it (`signal`) or signals it (`onStart`); the result is the same.
   */
  runInVm(input: OperationInput<"runInVm">, options?: CommandCallOptions): Promise<OperationResult<"runInVm">> {
    return this.call("runInVm", input, options);
  }

  /**
   * Create a VM record without starting it.
   *
   * The lower-level form of vm_run (create, vm_start, vm_exec); prefer vm_run. Returns the vm_id the
   * other vm_* tools take; nothing boots until vm_start. The VM is reaped ttl_seconds (default 600)
   * after create.
   *
   * MCP tool `vm_create`.
   */
  createVm(input: OperationInput<"createVm">): Promise<OperationResult<"createVm">> {
    return this.call("createVm", input);
  }

  /**
   * Boot a created VM.
   *
   * Boots the VM vm_create made; then run one command in it with vm_exec (which deletes it). Returns
   * the VM's state.
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
   * carries all of it. For anything that may run over a minute (builds, test suites, installs), use
   * workspace_exec with background: true and poll workspace_command_wait instead: a foreground call
   * holds the tool call open, and only clients that send a progressToken (which then receive
   * progress notifications with the output) keep it alive.
   *
   * MCP tool `vm_exec`.
   *
   * `options` streams the command's output as it arrives (`onStdout`, `onStderr`, secrets redacted),
   * aborts it (`signal`) or signals it (`onStart`); the result is the same.
   */
  execVm(input: OperationInput<"execVm">, options?: CommandCallOptions): Promise<OperationResult<"execVm">> {
    return this.call("execVm", input, options);
  }

  /**
   * Shut a VM down cleanly, keeping its record.
   *
   * Returns the VM's state; vm_delete removes it.
   *
   * MCP tool `vm_stop`.
   */
  stopVm(input: OperationInput<"stopVm">): Promise<OperationResult<"stopVm">> {
    return this.call("stopVm", input);
  }

  /**
   * Stop a VM if needed and remove everything it left.
   *
   * Use it for a VM that vm_exec never ran in; vm_run and vm_exec delete theirs themselves.
   *
   * MCP tool `vm_delete`.
   */
  deleteVm(input: OperationInput<"deleteVm">): Promise<OperationResult<"deleteVm">> {
    return this.call("deleteVm", input);
  }

  /**
   * Report a VM's state.
   *
   * Reads pyro's record (state: created, running, stopped, dead) and the machine's settings; changes
   * nothing.
   *
   * MCP tool `vm_status`.
   */
  statusVm(input: OperationInput<"statusVm">): Promise<OperationResult<"statusVm">> {
    return this.call("statusVm", input);
  }

  /**
   * Report a VM's network configuration.
   *
   * Whether the VM has network access (network_enabled) and its policy; changes nothing.
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
   * Environment names (e.g. debian:12, debian:12-base, debian:12-build) are what the environment
   * parameter of vm_run and workspace_create takes; a missing one is installed on first use, which
   * takes a while.
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
   * Use a workspace once work needs more than one command on the same files (edit, build, test):
   * returns workspace_id, which every workspace_*, shell_* and service_* tool takes. /workspace
   * starts empty or with seed_path's content; its create-time state is the baseline that
   * workspace_diff compares with and workspace_reset restores. The workspace is deleted once idle
   * for ttl_seconds (default 600); name and labels help find it again (workspace_list). Delete it
   * with workspace_delete when done.
   *
   * MCP tool `workspace_create`.
   *
   * `options.signal` cancels the create while it waits for a boot slot or boots: what it made is
   * deleted and the call rejects with the abort's reason. `options.onProgress` receives this call's
   * phase lines.
   */
  createWorkspace(input: OperationInput<"createWorkspace">, options?: CreateCallOptions): Promise<OperationResult<"createWorkspace">> {
    return this.call("createWorkspace", input, options);
  }

  /**
   * List workspaces.
   *
   * Each workspace with its id, name, labels and state; labels filters (every given label must
   * match). Reads pyro's records only: does not extend any workspace's idle timeout.
   *
   * MCP tool `workspace_list`.
   */
  listWorkspaces(input?: OperationInput<"listWorkspaces">): Promise<OperationResult<"listWorkspaces">> {
    return this.call("listWorkspaces", input);
  }

  /**
   * Set or clear a workspace's name and labels.
   *
   * Changes only pyro's record (works on a running, stopped or dead workspace and does not touch the
   * machine). labels are merged into the existing ones (same key: replaced); clear_labels removes
   * keys. Returns the workspace as workspace_status does.
   *
   * MCP tool `workspace_update`.
   */
  updateWorkspace(input: OperationInput<"updateWorkspace">): Promise<OperationResult<"updateWorkspace">> {
    return this.call("updateWorkspace", input);
  }

  /**
   * Copy a host directory or archive into a running workspace (not atomic; reset recovers).
   *
   * source_path is a path on the host running pyro (not in the guest); its content lands under dest
   * (default /workspace), replacing files of the same name. Returns how many entries and bytes were
   * copied.
   *
   * MCP tool `workspace_sync_push`.
   */
  pushWorkspaceSync(input: OperationInput<"pushWorkspaceSync">): Promise<OperationResult<"pushWorkspaceSync">> {
    return this.call("pushWorkspaceSync", input);
  }

  /**
   * Run one command in a workspace's /workspace; the workspace stays alive.
   *
   * The everyday tool of a workspace: /bin/sh -c COMMAND in /workspace, timeout_seconds (default
   * 30). Files persist between calls, shell state (cd, variables) does not: chain with && or use
   * shell_open for an interactive session. To read or edit a file, prefer workspace_file_read,
   * workspace_file_write and workspace_patch_apply over shell quoting. secret_env exposes workspace
   * secrets as environment variables for this call only. Returns exit_code, stdout, stderr,
   * duration_ms and sequence (its number in workspace_logs). stdout and stderr keep at most 1 MiB
   * (1048576 bytes) each; past that, output is dropped and stdout_truncated/stderr_truncated is
   * true. The text content of the result carries a summary and a bounded excerpt of the output;
   * structuredContent carries all of it. For anything that may run over a minute (builds, test
   * suites, installs), use workspace_exec with background: true and poll workspace_command_wait
   * instead: a foreground call holds the tool call open, and only clients that send a progressToken
   * (which then receive progress notifications with the output) keep it alive. For anything that may
   * run over a minute (builds, test suites, servers you wait on), set background: true: the call
   * returns a command_id at once; then call workspace_command_wait (from next_cursor) until finished
   * is true, and workspace_command_kill to stop it early.
   *
   * MCP tool `workspace_exec`.
   *
   * `options` streams the command's output as it arrives (`onStdout`, `onStderr`, secrets redacted),
   * aborts it (`signal`) or signals it (`onStart`); the result is the same.
   */
  execWorkspace<const I extends OperationInput<"execWorkspace">>(input: I, options?: CommandCallOptions): Promise<ResultFor<"execWorkspace", I>> {
    return this.call("execWorkspace", input, options) as Promise<ResultFor<"execWorkspace", I>>;
  }

  /**
   * Report a workspace's state and how /workspace was seeded.
   *
   * state (running, stopped, dead, creating), name, labels, resources, network, published ports,
   * secrets (names only), command_count and expires_at. Reads pyro's record only: does not extend
   * the idle timeout.
   *
   * MCP tool `workspace_status`.
   */
  statusWorkspace(input: OperationInput<"statusWorkspace">): Promise<OperationResult<"statusWorkspace">> {
    return this.call("statusWorkspace", input);
  }

  /**
   * Show a workspace's command history.
   *
   * Every workspace_exec so far: command, exit_code, when, how long, and its output (clipped). Does
   * not extend the idle timeout.
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
   * Returns changed, a summary (added, modified, deleted) and per file a unified diff (binary files
   * are only flagged). Use it to review what commands or edits changed before export.
   *
   * MCP tool `workspace_diff`.
   */
  diffWorkspace(input: OperationInput<"diffWorkspace">): Promise<OperationResult<"diffWorkspace">> {
    return this.call("diffWorkspace", input);
  }

  /**
   * Copy one file or directory out of /workspace to a host path.
   *
   * output_path is on the host running pyro. Returns the kind copied, entries and bytes.
   *
   * MCP tool `workspace_export`.
   */
  exportWorkspace(input: OperationInput<"exportWorkspace">): Promise<OperationResult<"exportWorkspace">> {
    return this.call("exportWorkspace", input);
  }

  /**
   * Save a named checkpoint of /workspace.
   *
   * Checkpoint before a risky change; workspace_reset with snapshot restores it. Only /workspace is
   * saved (not processes or the rest of the disk).
   *
   * MCP tool `snapshot_create`.
   */
  createSnapshot(input: OperationInput<"createSnapshot">): Promise<OperationResult<"createSnapshot">> {
    return this.call("createSnapshot", input);
  }

  /**
   * List a workspace's snapshots, baseline included.
   *
   * Names, creation times and sizes; baseline is the create-time state.
   *
   * MCP tool `snapshot_list`.
   */
  listSnapshots(input: OperationInput<"listSnapshots">): Promise<OperationResult<"listSnapshots">> {
    return this.call("listSnapshots", input);
  }

  /**
   * Delete a named snapshot (the baseline cannot be deleted).
   *
   * Frees its space; it can no longer be restored.
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
   * /workspace and the disk are kept; workspace_start boots it again. A stopped workspace can be
   * read offline with workspace_disk_list and workspace_disk_read.
   *
   * MCP tool `workspace_stop`.
   */
  stopWorkspace(input: OperationInput<"stopWorkspace">): Promise<OperationResult<"stopWorkspace">> {
    return this.call("stopWorkspace", input);
  }

  /**
   * Boot a stopped workspace again.
   *
   * Same disk, secrets materialised again; shells and services of the previous run are gone. Returns
   * the workspace as workspace_status does.
   *
   * MCP tool `workspace_start`.
   */
  startWorkspace(input: OperationInput<"startWorkspace">): Promise<OperationResult<"startWorkspace">> {
    return this.call("startWorkspace", input);
  }

  /**
   * List a directory of a stopped workspace's disk (offline).
   *
   * Needs a stopped, guest-backed workspace (workspace_stop first); on a running one use
   * workspace_exec (ls) instead. path is absolute or relative to /workspace; recursive lists
   * everything below it. Returns entries with path, kind, size (bytes) and mode.
   *
   * MCP tool `workspace_disk_list`.
   */
  listWorkspaceDisk(input: OperationInput<"listWorkspaceDisk">): Promise<OperationResult<"listWorkspaceDisk">> {
    return this.call("listWorkspaceDisk", input);
  }

  /**
   * Read a file of a stopped workspace's disk (offline).
   *
   * Needs a stopped, guest-backed workspace (workspace_stop first). content holds at most max_bytes
   * (truncated says when cut, bytes is the file's size); secret values are redacted.
   *
   * MCP tool `workspace_disk_read`.
   */
  readWorkspaceDisk(input: OperationInput<"readWorkspaceDisk">): Promise<OperationResult<"readWorkspaceDisk">> {
    return this.call("readWorkspaceDisk", input);
  }

  /**
   * Export a stopped workspace's disk as a raw ext4 image.
   *
   * Needs a stopped, guest-backed workspace. output_path is on the host; runtime-only state
   * (secrets, service logs) is scrubbed from the copy.
   *
   * MCP tool `workspace_disk_export`.
   */
  exportWorkspaceDisk(input: OperationInput<"exportWorkspaceDisk">): Promise<OperationResult<"exportWorkspaceDisk">> {
    return this.call("exportWorkspaceDisk", input);
  }

  /**
   * List files and directories of a running workspace under /workspace.
   *
   * Use it to see what exists before reading or patching. Entries are in name order (depth first
   * with recursive); symlinks are listed, not followed. At most 5000 entries: past that, truncated
   * is true (list a subdirectory instead).
   *
   * MCP tool `workspace_file_list`.
   */
  listWorkspaceFiles(input: OperationInput<"listWorkspaceFiles">): Promise<OperationResult<"listWorkspaceFiles">> {
    return this.call("listWorkspaceFiles", input);
  }

  /**
   * Read a text file of a running workspace, without a shell.
   *
   * Returns at most max_bytes bytes (default 65536); truncated says whether the file goes on,
   * size_bytes is its whole size. A file that is not UTF-8 text comes back with binary true, an
   * empty content, and its size and sha256 (use workspace_export for it). Prefer this to
   * workspace_exec with cat: no quoting, and exact bytes. A directory is an error (use
   * workspace_file_list).
   *
   * MCP tool `workspace_file_read`.
   */
  readWorkspaceFile(input: OperationInput<"readWorkspaceFile">): Promise<OperationResult<"readWorkspaceFile">> {
    return this.call("readWorkspaceFile", input);
  }

  /**
   * Write a text file in a running workspace, replacing its content.
   *
   * Makes missing parent directories. An existing file keeps its mode and owner (as a shell's >); a
   * new one gets 0666 less the guest's umask (usually 0644). At most 4 MiB (4194304 bytes) of UTF-8;
   * for larger or binary files use workspace_sync_push. To change part of a file,
   * workspace_patch_apply is safer: it checks the lines it replaces.
   *
   * MCP tool `workspace_file_write`.
   */
  writeWorkspaceFile(input: OperationInput<"writeWorkspaceFile">): Promise<OperationResult<"writeWorkspaceFile">> {
    return this.call("writeWorkspaceFile", input);
  }

  /**
   * Apply a unified diff to files under /workspace, all or nothing.
   *
   * The patch is a unified diff (git diff or diff -u output; a/ and b/ prefixes are stripped) that
   * may add (--- /dev/null), modify and delete (+++ /dev/null) text files. Git's 100755/100644 modes
   * set or clear execute bits. Every hunk of every file is checked against the current content
   * first; if any does not match, nothing is written and the error names the file, the hunk and the
   * lines that differ (read the file again and rebuild the patch). Hunks must match exactly (no
   * fuzz), though they may sit at other line numbers. Binary patches, renames, a file named twice
   * and paths outside /workspace are refused. At most 4 MiB (4194304 bytes) of patch, and of each
   * file it changes; at most 1000 files.
   *
   * MCP tool `workspace_patch_apply`.
   */
  applyWorkspacePatch(input: OperationInput<"applyWorkspacePatch">): Promise<OperationResult<"applyWorkspacePatch">> {
    return this.call("applyWorkspacePatch", input);
  }

  /**
   * Open a persistent PTY shell in a workspace.
   *
   * For interactive programs and state that must outlive one command (cd, variables, a REPL):
   * workspace_exec is simpler for one-shot commands. Returns shell_id; then shell_write input,
   * shell_read output (wait_for_idle_ms, plain), shell_close when done. Shells end when the
   * workspace stops or resets.
   *
   * MCP tool `shell_open`.
   */
  openShell(input: OperationInput<"openShell">): Promise<OperationResult<"openShell">> {
    return this.call("openShell", input);
  }

  /**
   * Read a shell's output from a cursor.
   *
   * Pass the previous read's next_cursor as cursor to get only new output (cursor 0: everything
   * still buffered). After shell_write, set wait_for_idle_ms (e.g. 500) to return once the output
   * has settled instead of polling, and plain: true for text without terminal escape codes. Returns
   * output, next_cursor, alive and exit_code.
   *
   * MCP tool `shell_read`.
   */
  readShell(input: OperationInput<"readShell">): Promise<OperationResult<"readShell">> {
    return this.call("readShell", input);
  }

  /**
   * Write input to a shell.
   *
   * Types input into the terminal, plus a newline unless append_newline is false; does not wait for
   * output (read it with shell_read and wait_for_idle_ms). Returns written_chars.
   *
   * MCP tool `shell_write`.
   */
  writeShell(input: OperationInput<"writeShell">): Promise<OperationResult<"writeShell">> {
    return this.call("writeShell", input);
  }

  /**
   * Send a signal to a shell's foreground process.
   *
   * signal_name INT (default) is Ctrl-C: stops a command that hangs without closing the shell.
   *
   * MCP tool `shell_signal`.
   */
  signalShell(input: OperationInput<"signalShell">): Promise<OperationResult<"signalShell">> {
    return this.call("signalShell", input);
  }

  /**
   * Close a shell.
   *
   * Hangs up the terminal and frees the shell; returns its exit_code.
   *
   * MCP tool `shell_close`.
   */
  closeShell(input: OperationInput<"closeShell">): Promise<OperationResult<"closeShell">> {
    return this.call("closeShell", input);
  }

  /**
   * Start a named background service with an optional readiness check.
   *
   * For long-running processes (a dev server, a database) that must keep running between other
   * calls; for a command that ends, use workspace_exec. Returns once the readiness check passes (at
   * most ready_timeout_seconds, default 30) or at once without one; state ready or running means up,
   * failed says why with the last output. Read output with service_logs, stop with service_stop.
   *
   * MCP tool `service_start`.
   */
  startService(input: OperationInput<"startService">): Promise<OperationResult<"startService">> {
    return this.call("startService", input);
  }

  /**
   * List a workspace's services.
   *
   * Each service's state, pid, exit code and published ports.
   *
   * MCP tool `service_list`.
   */
  listServices(input: OperationInput<"listServices">): Promise<OperationResult<"listServices">> {
    return this.call("listServices", input);
  }

  /**
   * Report one service's state.
   *
   * state: starting, running, ready, exited, failed or stopped; with exit_code and readiness detail.
   *
   * MCP tool `service_status`.
   */
  statusService(input: OperationInput<"statusService">): Promise<OperationResult<"statusService">> {
    return this.call("statusService", input);
  }

  /**
   * Show the tail of a service's stdout and stderr.
   *
   * The last tail_lines lines (default 200) of each stream, or every line with all: true (the guest
   * keeps the last 1 MiB of each). Secret values are redacted.
   *
   * MCP tool `service_logs`.
   */
  logsService(input: OperationInput<"logsService">): Promise<OperationResult<"logsService">> {
    return this.call("logsService", input);
  }

  /**
   * Stop a service: TERM, then KILL after a grace period.
   *
   * The grace period is 5 s. Returns the service's final state.
   *
   * MCP tool `service_stop`.
   */
  stopService(input: OperationInput<"stopService">): Promise<OperationResult<"stopService">> {
    return this.call("stopService", input);
  }

  /**
   * List a workspace's background commands.
   *
   * Every command started with workspace_exec background=true that the guest still remembers (the 64
   * most recent finished ones): command_id, command, state (running, exited, killed, lost),
   * exit_code once done. Use it to find a command_id again after losing it.
   *
   * MCP tool `workspace_command_list`.
   */
  listWorkspaceCommands(input: OperationInput<"listWorkspaceCommands">): Promise<OperationResult<"listWorkspaceCommands">> {
    return this.call("listWorkspaceCommands", input);
  }

  /**
   * Report a background command's state and exit code.
   *
   * state is running, exited, killed or lost (its machine was stopped, reset or died); exit_code is
   * set once it has exited. Returns at once and no output: use workspace_command_wait to wait,
   * workspace_command_logs for output.
   *
   * MCP tool `workspace_command_status`.
   */
  statusWorkspaceCommand(input: OperationInput<"statusWorkspaceCommand">): Promise<OperationResult<"statusWorkspaceCommand">> {
    return this.call("statusWorkspaceCommand", input);
  }

  /**
   * Read a background command's output from a cursor, without waiting.
   *
   * Output (stdout and stderr in one log, in the order written) is kept in the guest, the last 1 MiB
   * (1048576 bytes) per command; cursors are byte offsets into everything the command printed: read
   * from 0, then from next_cursor. dropped_bytes > 0 means output older than the kept tail was lost
   * before it was read.
   *
   * MCP tool `workspace_command_logs`.
   */
  logsWorkspaceCommand(input: OperationInput<"logsWorkspaceCommand">): Promise<OperationResult<"logsWorkspaceCommand">> {
    return this.call("logsWorkspaceCommand", input);
  }

  /**
   * Wait up to timeout_seconds for a background command to finish, then return its new output and
   * whether it finished.
   *
   * Returns at once when the command has finished. Keep timeout_seconds below your client's
   * tool-call timeout (60 s is safe) and call again from next_cursor while finished is false. Output
   * (stdout and stderr in one log, in the order written) is kept in the guest, the last 1 MiB
   * (1048576 bytes) per command; cursors are byte offsets into everything the command printed: read
   * from 0, then from next_cursor. dropped_bytes > 0 means output older than the kept tail was lost
   * before it was read.
   *
   * MCP tool `workspace_command_wait`.
   */
  waitWorkspaceCommand(input: OperationInput<"waitWorkspaceCommand">): Promise<OperationResult<"waitWorkspaceCommand">> {
    return this.call("waitWorkspaceCommand", input);
  }

  /**
   * End a background command: a signal to its process group, KILL after 5 s.
   *
   * Signals the command and every process it started. Killing a command that already ended changes
   * nothing. Returns the command's state (killed, with the exit code the signal gave).
   *
   * MCP tool `workspace_command_kill`.
   */
  killWorkspaceCommand(input: OperationInput<"killWorkspaceCommand">): Promise<OperationResult<"killWorkspaceCommand">> {
    return this.call("killWorkspaceCommand", input);
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
   * Running VMs and workspaces are not touched. Returns the ids of the machines it ended. Use it to
   * free memory (each pooled machine holds its guest's RAM) or before measuring a cold start;
   * PYRO_POOL_SIZE=0 keeps the pool empty.
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
