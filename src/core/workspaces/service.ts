import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { LIMITS, type CommandCallOptions } from "../../contract/index.js";
import type { AgentClient } from "../../agent-client/index.js";
import type { MachineSpec } from "../../runtime/backend.js";
import { PyroError } from "../../util/errors.js";
import { isProcessAlive, processStartTime } from "../../util/process.js";
import { checkAllowList } from "../../net/index.js";
import { currentCallSignal } from "../call-scope.js";
import { workspacesRoot, type CoreContext } from "../context.js";
import { checkId, newId } from "../ids.js";
import { MachineFleet } from "../machines/fleet.js";
import { SHUTDOWN_GRACE_MS } from "../machines/lifecycle.js";
import { commandStream } from "../machines/command-stream.js";
import { execOutcome, type Machine } from "../machines/machine.js";
import { RecordStore } from "../store/records.js";
import { isExpired } from "../vms/record.js";
import { appendHistory, clip, readHistory } from "./history.js";
import { workspaceFiles } from "./layout.js";
import { maxArchiveBytes } from "./limits.js";
import { removePartials } from "./partials.js";
import { secretPatterns } from "./redaction.js";
import { workspaceInfo, type WorkspaceCreation, type WorkspaceRecord, type WorkspaceSeed } from "./record.js";
import { loadSecrets, redact, resolveSecrets, saveSecrets, secretEnvironment, type SecretValues } from "./secrets.js";
import { openSource } from "./seed.js";
import { workspaceDirArchive } from "./workspace-dir-archive.js";
import { ownerField } from "../machines/image-user.js";
import { hasLabels, refuseSecretsIn } from "./names.js";

/** Whether a record is mid-creation and its creator is gone. */
function creationInterrupted(record: WorkspaceRecord): boolean {
  return record.state === "creating" && (!record.creation || !isProcessAlive(record.creation.pid, record.creation.pid_start_time));
}

/** Refuse lifecycle changes of a workspace whose creation has not finished. */
function refuseIncomplete(record: WorkspaceRecord): void {
  if (record.state === "creating") {
    throw new PyroError("failed_precondition", `workspace ${record.workspace_id} is still being created`, {
      hint: "wait until `pyro workspace status` says running, or delete it",
    });
  }
  if (record.creation) {
    throw new PyroError("failed_precondition", `workspace ${record.workspace_id} was never completely created`, {
      hint: `reset it (it starts over with an empty /workspace): pyro workspace reset ${record.workspace_id}; or delete it`,
    });
  }
}

type Info = OperationResult<"statusWorkspace">;

/** Persistent workspaces: one machine kept alive across calls, with its /workspace, history and secrets. */
export class WorkspaceService {
  readonly records: RecordStore<WorkspaceRecord>;
  private readonly machines: MachineFleet<WorkspaceRecord>;

  constructor(readonly context: CoreContext) {
    this.records = new RecordStore<WorkspaceRecord>(
      workspacesRoot(context),
      "workspace",
      "workspace ids look like ws-0123456789ab; `pyro workspace list` shows them",
    );
    this.machines = new MachineFleet(context, this.records, {
      idOf: (record) => record.workspace_id,
      specOf: (record) => this.specOf(record),
      deadDetail: (record) =>
        `the ${record.backend} process (pid ${record.handle?.pid}) exited unexpectedly; reset recovers /workspace from the baseline or a snapshot`,
    });
  }

  /** The files of a workspace. */
  files(id: string) {
    return workspaceFiles(this.records.dir(id));
  }

  async create(input: ParsedInput<"createWorkspace">): Promise<Info> {
    const allow = checkAllowList(input.network_policy, input.allow_hosts, input.allow_cidrs);
    const seedSource = input.seed_path ? await openSource(input.seed_path) : undefined;
    const secrets = await resolveSecrets(input.secrets ?? []);
    refuseSecretsIn({ name: input.name, labels: input.labels }, secrets.values);
    const { backend, environment } = await this.machines.resolve(input);
    const id = newId("ws");
    const now = Date.now();
    const record: WorkspaceRecord = {
      schema: 1,
      workspace_id: id,
      name: input.name ?? null,
      labels: input.labels ?? {},
      // Pinned: an image tag pulled again later does not change a workspace's environment.
      environment: environment.name,
      state: "creating",
      backend: backend.name,
      execution_mode: backend.capabilities.execution_mode,
      vcpu_count: input.vcpu_count,
      mem_mib: input.mem_mib,
      network_policy: input.network_policy,
      allow,
      published_ports: [],
      ttl_seconds: input.ttl_seconds,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + input.ttl_seconds * 1000).toISOString(),
      workspace_seed: seedSource
        ? { mode: seedSource.mode, source_path: seedSource.sourcePath, entries: 0, bytes: 0 }
        : { mode: "empty", source_path: null, entries: 0, bytes: 0 },
      secrets: secrets.metadata,
      command_count: 0,
      handle: null,
      detail: null,
      // Whoever finds this record while its creator is gone knows the creation was interrupted.
      creation: { pid: process.pid, pid_start_time: processStartTime(process.pid), phase: "boot" },
    };
    await this.records.create(id, record);
    try {
      await saveSecrets(this.files(id).secrets, secrets.values);
      this.context.progress(`[workspace] phase=start workspace_id=${id} backend=${backend.name}`);
      const started = await this.machines.machine(record, environment);
      // Record the machine at once: if seeding fails (or this process dies), delete finds it and kills it.
      await this.setCreation(id, "seed", { handle: await started.boot("[workspace]") });
      // Cancelled while it booted: the catch below deletes what was made.
      currentCallSignal()?.throwIfAborted();
      let seed: WorkspaceSeed = record.workspace_seed;
      await started.session(async (client) => {
        await this.materialiseSecrets(client, secrets.values, started);
        await this.ownWorkspace(client, started);
        if (seedSource) {
          this.context.progress(`[workspace] phase=seed workspace_id=${id} source=${seedSource.sourcePath}`);
          // The seed belongs to the image's User (root for other environments), who edits it.
          const result = await client.putArchive("/workspace", seedSource.open(), maxArchiveBytes(this.context), ownerField(started.spec.environment).owner);
          seed = { mode: seedSource.mode, source_path: seedSource.sourcePath, entries: result.entries, bytes: result.bytes };
        }
        await this.setCreation(id, "baseline", {});
        await this.captureTree(client, this.files(id).baseline);
      });
      currentCallSignal()?.throwIfAborted();
      // Running only now: its baseline exists, so diff, snapshots and reset work.
      const next = await this.records.update(id, (current) => {
        const { creation: _done, ...rest } = current;
        return { ...rest, state: "running", workspace_seed: seed };
      });
      return workspaceInfo(next);
    } catch (error) {
      await this.destroy(id);
      throw error;
    }
  }

  /** Move a record being created to its next phase. */
  private async setCreation(id: string, phase: WorkspaceCreation["phase"], change: Partial<WorkspaceRecord>): Promise<void> {
    await this.records.update(id, (current) => ({ ...current, ...change, creation: current.creation && { ...current.creation, phase } }));
  }

  /** Every workspace, or those carrying all of `labels`. */
  async list(labels?: Record<string, string>): Promise<OperationResult<"listWorkspaces">> {
    const workspaces: Info[] = [];
    for (const id of await this.records.ids()) {
      try {
        const record = await this.records.read(id);
        if (!hasLabels(record, labels)) continue;
        workspaces.push(workspaceInfo(await this.refreshed(record)));
      } catch {
        // A record being created or deleted right now, or a corrupt one: status says which.
      }
    }
    return { workspaces };
  }

  async status(workspaceId: string): Promise<Info> {
    return workspaceInfo(await this.running(workspaceId, { allowStopped: true }));
  }

  async logs(workspaceId: string): Promise<OperationResult<"logsWorkspace">> {
    const id = checkId(workspaceId, "ws", "workspace");
    await this.records.read(id);
    return { workspace_id: id, entries: await readHistory(this.files(id).history) };
  }

  async exec(input: ParsedInput<"execWorkspace">, options?: CommandCallOptions): Promise<OperationResult<"execWorkspace">> {
    const record = await this.running(input.workspace_id);
    const id = record.workspace_id;
    const secrets = await loadSecrets(this.files(id).secrets);
    const env = secretEnvironment(input.secret_env, secrets);
    const startedAt = new Date().toISOString();
    // The command runs without the lock so that calls from several processes overlap.
    const machine = await this.machine(record);
    // Live chunks are redacted as they pass, secrets split across chunks included.
    const live = commandStream(options, secretPatterns(secrets));
    live.throwIfAborted();
    let result;
    try {
      result = await machine.exec({ command: input.command, cwd: "/workspace", timeoutMs: input.timeout_seconds * 1000, maxOutputBytes: LIMITS.max_output_bytes, env, streaming: live.exec });
    } catch (error) {
      throw await this.pausedMeanwhile(id, error);
    } finally {
      live.finish();
    }
    const stdout = redact(result.stdout, secrets);
    const stderr = redact(result.stderr, secrets);
    const command = redact(input.command, secrets);
    const updated = await this.records.update(id, async (current) => {
      const sequence = current.command_count + 1;
      await appendHistory(this.files(id).history, {
        sequence,
        command,
        exit_code: result.exit_code,
        started_at: startedAt,
        duration_ms: result.duration_ms,
        stdout: clip(stdout),
        stderr: clip(stderr),
      });
      return { ...current, command_count: sequence };
    });
    // Killed by the caller's abort: recorded in the history above, then the call rejects.
    live.throwIfAborted();
    return {
      workspace_id: id,
      sequence: updated.command_count,
      command,
      stdout,
      stderr,
      ...execOutcome(result),
      backend: record.backend,
      execution_mode: record.execution_mode,
    };
  }

  async delete(workspaceId: string): Promise<OperationResult<"deleteWorkspace">> {
    const id = checkId(workspaceId, "ws", "workspace");
    await this.machines.delete(id);
    return { workspace_id: id, deleted: true };
  }

  /** Flush the guest filesystem and shut it down; the disk and /workspace stay. */
  async stop(workspaceId: string): Promise<Info> {
    const id = checkId(workspaceId, "ws", "workspace");
    await this.refreshed(await this.records.read(id));
    const record = await this.records.update(id, async (current) => {
      refuseIncomplete(current);
      if (current.state === "stopped") return current;
      if (current.handle) {
        const machine = await this.machine(current);
        if (machine.running) await machine.session((client) => client.request("sync", {})).catch(() => undefined);
        await machine.shutdown(SHUTDOWN_GRACE_MS);
        await machine.kill();
      }
      const { paused_at: _pausedAt, ...rest } = current;
      return { ...rest, state: "stopped", handle: null, detail: null };
    });
    return workspaceInfo(record);
  }

  /** Boot a stopped workspace again on the same disk, secrets re-materialised. */
  async start(workspaceId: string): Promise<Info> {
    const id = checkId(workspaceId, "ws", "workspace");
    await this.refreshed(await this.records.read(id));
    const record = await this.records.update(id, async (current) => {
      refuseIncomplete(current);
      if (current.state === "running" && current.handle && (await this.machine(current)).running) {
        throw new PyroError("failed_precondition", `workspace ${id} is already running`);
      }
      // A paused workspace starts cold too (its saved memory is discarded by the backend's start).
      const started = await this.boot(current);
      try {
        await started.session(async (client) => this.materialiseSecrets(client, await loadSecrets(this.files(id).secrets), started));
      } catch (error) {
        // The record never learns of this machine: it must not outlive the failed start.
        await started.kill();
        throw error;
      }
      const { paused_at: _pausedAt, ...rest } = current;
      return { ...rest, state: "running", handle: started.handle, detail: null };
    });
    return workspaceInfo(record);
  }

  /**
   * Delete every workspace idle past its TTL (every use extends it: see
   * ttl.ts). One being created by a live process is left to its creator.
   */
  reapExpired(now = Date.now()): Promise<string[]> {
    return this.machines.reap((record, at) => record.state !== "creating" && isExpired(record, at), now);
  }

  /** The record of a workspace that must be running (or stopped, when allowed); dead machines are noticed here. */
  async running(workspaceId: string, options: { allowStopped?: boolean } = {}): Promise<WorkspaceRecord> {
    const id = checkId(workspaceId, "ws", "workspace");
    const record = await this.refreshed(await this.records.read(id));
    if (record.state === "creating") {
      throw new PyroError("failed_precondition", `workspace ${id} is still being created (by pid ${record.creation?.pid}, phase ${record.creation?.phase})`, {
        hint: "wait until `pyro workspace status` says running, or delete it",
      });
    }
    if (options.allowStopped || record.state === "running") return record;
    throw new PyroError("failed_precondition", `workspace ${id} is ${record.state}`, {
      hint:
        record.state === "stopped"
          ? `start it: pyro workspace start ${id}`
          : record.state === "paused"
            ? `resume it: pyro workspace resume ${id} (or start it cold: pyro workspace start ${id})`
            : `recover it: pyro workspace reset ${id}`,
    });
  }

  /**
   * The error for a command whose machine went away under it: when a pause
   * did that (the record, read under its lock once the pause is done, says
   * paused), say so; otherwise `error` as it is.
   */
  private async pausedMeanwhile(id: string, error: unknown): Promise<unknown> {
    const record = await this.records.locked(id, () => this.records.read(id)).catch(() => undefined);
    if (record?.state !== "paused") return error;
    return new PyroError("failed_precondition", `workspace ${id} was paused while the command ran; the command was ended and its output is lost`, {
      hint: `resume it (pyro workspace resume ${id}) and run the command again`,
    });
  }

  /** Boot the machine of a record (its disk kept from earlier runs); with `resume`, from its saved memory (pause.ts). */
  async boot(record: WorkspaceRecord, options: { resume?: boolean } = {}): Promise<Machine> {
    const machine = await this.machine(record);
    await machine.boot("[workspace]", options);
    return machine;
  }

  /** A record's machine (which may or may not be running). */
  machine(record: WorkspaceRecord): Promise<Machine> {
    return this.machines.machine(record);
  }

  /** The spec of a workspace's machine, but for its environment. */
  private specOf(record: WorkspaceRecord): Omit<MachineSpec, "environment"> {
    return {
      id: record.workspace_id,
      dir: this.files(record.workspace_id).machine,
      vcpuCount: record.vcpu_count,
      memMib: record.mem_mib,
      network: record.network_policy,
      ...(record.allow ? { allow: record.allow } : {}),
      publishedPorts: record.published_ports,
      hostname: record.workspace_id,
      rootDisk: "raw",
    };
  }

  /**
   * Write the workspace's secrets to /run/pyro-secrets in the guest: owned by
   * the image's User when it has one (readable by it, by no other user).
   */
  async materialiseSecrets(client: AgentClient, values: SecretValues, machine: Machine): Promise<void> {
    if (Object.keys(values).length === 0) return;
    const files = Object.fromEntries(Object.entries(values).map(([name, value]) => [name, Buffer.from(value).toString("base64")]));
    await client.request("secrets_put", { files, ...ownerField(machine.spec.environment) });
  }

  /** Give /workspace itself to the image's User, if it has one (its contents go to it as they are written). */
  async ownWorkspace(client: AgentClient, machine: Machine): Promise<void> {
    const owner = ownerField(machine.spec.environment).owner;
    if (owner) await client.putArchive("/", workspaceDirArchive(), 4096, owner);
  }

  /** Save a tar of the guest's /workspace to a host file (written atomically). */
  async captureTree(client: AgentClient, path: string): Promise<{ entries: number; bytes: number }> {
    const partial = `${path}.partial`;
    const sink = createWriteStream(partial, { mode: 0o600 });
    try {
      const result = await client.getArchive("/workspace", sink, maxArchiveBytes(this.context));
      await rename(partial, path);
      return result;
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  /**
   * Mark a running record dead when its machine process is gone, and a
   * record whose creator died mid-creation dead with what happened (its
   * machine killed, its partial files removed).
   */
  async refreshed(record: WorkspaceRecord): Promise<WorkspaceRecord> {
    if (creationInterrupted(record)) return this.abandonCreation(record.workspace_id);
    return this.machines.refreshed(record);
  }

  /** Turn a record whose creator died into a dead one that says so; no machine or partial file of it is left. */
  private async abandonCreation(id: string): Promise<WorkspaceRecord> {
    return this.records.update(id, async (current) => {
      if (!creationInterrupted(current)) return current;
      await (await this.machine(current)).kill();
      await removePartials(this.records.dir(id));
      const phase = current.creation?.phase;
      return {
        ...current,
        state: "dead",
        handle: null,
        detail:
          `its creation was interrupted during the ${phase} phase (the creating process, pid ${current.creation?.pid}, exited)` +
          `; reset starts it over with an empty /workspace, delete removes it`,
      };
    });
  }

  /** Kill the machine and remove every file of the workspace. */
  destroy(id: string): Promise<void> {
    return this.machines.destroy(id);
  }
}
