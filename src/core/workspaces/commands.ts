import { deadlineFor, type AgentClient } from "../../agent-client/index.js";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { PyroError } from "../../util/errors.js";
import { imageEnv } from "../machines/image-env.js";
import { userField } from "../machines/image-user.js";
import type { CommandState as CommandStateName } from "../../util/vocabulary.js";
import { CommandRecords, machineIdentity, newCommandId, type CommandRecord } from "./command-records.js";
import { sliceCommandOutput } from "./command-output.js";
import { appendHistory, HISTORY_OUTPUT_CHARS } from "./history.js";
import { secretPatterns, withRedactedErrors } from "./redaction.js";
import type { WorkspaceRecord } from "./record.js";
import { loadSecrets, redact, secretEnvironment, type SecretValues } from "./secrets.js";
import type { WorkspaceService } from "./service.js";
import { lookback } from "./shell-output.js";

type CommandState = OperationResult<"statusWorkspaceCommand">;
type CommandOutput = OperationResult<"logsWorkspaceCommand">;

/** A command's state as the agent reports it (protocol/SPEC.md, background commands). */
type AgentCommand = {
  command_id: string;
  state: Exclude<CommandStateName, "lost">;
  pid: number;
  exit_code: number | null;
  signal: string | null;
  started_at: string;
  ended_at: string | null;
  duration_ms: number;
  output_bytes: number;
};

type AgentRead = AgentCommand & { output_b64: string; cursor: number; next_cursor: number; dropped_bytes: number };

/** Most bytes one agent read returns: its answer is one frame, base64 grows bytes by a third. */
const MAX_AGENT_READ = 512 * 1024;
/** How long a killed command gets to handle its signal before KILL. */
const KILL_GRACE_MS = 5000;
/** Errors of a session that broke (rather than a request the agent or pyro refused). */
const SESSION_FAILURES: ReadonlySet<string> = new Set(["guest_failure", "timeout", "io_error", "internal"]);
/** How long a call whose session broke watches for the machine to go (a stop or reset in progress). */
const GONE_WATCH_MS = 15_000;

/**
 * Background commands of a workspace (`workspace exec --background`). The
 * guest agent runs them and keeps their output (the last 1 MiB each, in
 * memory: outside /workspace, so never in diff, export or snapshots); every
 * call here is a fresh agent session, so a command outlives the process that
 * started it. The host keeps a small record per command (command-records.ts)
 * so that a command whose machine was stopped, reset or died is reported
 * `lost` instead of hanging, and so that a finished command is written to the
 * workspace's history exactly once, by whichever call first sees it finished.
 */
export class CommandService {
  constructor(private readonly workspaces: WorkspaceService) {}

  private records(workspaceId: string): CommandRecords {
    return new CommandRecords(this.workspaces.files(workspaceId).commands, workspaceId);
  }

  /** Start `command` with `/bin/sh -c` in /workspace and return at once. */
  async start(input: ParsedInput<"execWorkspace">): Promise<OperationResult<"execWorkspace">> {
    const workspace = await this.workspaces.running(input.workspace_id);
    const id = workspace.workspace_id;
    const secrets = await loadSecrets(this.workspaces.files(id).secrets);
    const records = this.records(id);
    const machine = await this.workspaces.machine(workspace);
    const started = await withRedactedErrors(secrets, () =>
      machine.session(async (client) => {
        if (!client.has("command")) {
          throw new PyroError("unsupported", `the guest agent of workspace ${id} predates background commands`, {
            hint: `refresh the environment's agent (\`pyro env pull\` after upgrading pyro), then \`pyro workspace reset ${id}\`; or run the command in the foreground`,
          });
        }
        const commandId = newCommandId();
        const agent = await client.request<AgentCommand & { type: string }>("command_start", {
          command_id: commandId,
          argv: ["/bin/sh", "-c", input.command],
          cwd: "/workspace",
          // Like a foreground exec: the image's Env under the call's secrets, as the image's User.
          env: { ...imageEnv(machine.spec.environment), ...secretEnvironment(input.secret_env, secrets) },
          ...userField(machine.spec.environment),
        });
        const record = fromAgent(newRecord(commandId, redact(input.command, secrets), machineIdentity(workspace.handle)), agent);
        // Written only once the guest runs it; a process killed in between leaves an unlisted command, never a false one.
        await records.write(record);
        return record;
      }),
    );
    return { ...view(id, started), background: true, backend: workspace.backend, execution_mode: workspace.execution_mode };
  }

  /** Every background command of the workspace, oldest first. */
  async list(workspaceId: string): Promise<OperationResult<"listWorkspaceCommands">> {
    const workspace = await this.workspaces.running(workspaceId, { allowStopped: true });
    const id = workspace.workspace_id;
    const records = await this.records(id).list();
    const open = records.filter((record) => !isFinal(record));
    if (open.length > 0) {
      await this.observe(workspace, open, async (client, secrets) => {
        const answer = await client.request<{ type: string; commands: AgentCommand[] }>("command_list", {});
        const known = new Map(answer.commands.map((command) => [command.command_id, command]));
        for (const record of open) await this.settle(client, workspace, record, known.get(record.command_id) ?? null, secrets);
      });
    }
    return { workspace_id: id, commands: records.map((record) => view(id, record)) };
  }

  /** One command's state (exit code once it ended). */
  async status(input: ParsedInput<"statusWorkspaceCommand">): Promise<CommandState> {
    const { workspace, record } = await this.find(input.workspace_id, input.command_id);
    if (!isFinal(record)) {
      await this.observe(workspace, [record], async (client, secrets) => {
        const agent = await client.request<AgentCommand & { type: string }>("command_status", { command_id: record.command_id }).catch(missing);
        await this.settle(client, workspace, record, agent, secrets);
      });
    }
    return view(workspace.workspace_id, record);
  }

  /** Output from a cursor, at once. */
  logs(input: ParsedInput<"logsWorkspaceCommand">): Promise<CommandOutput> {
    return this.read(input.workspace_id, input.command_id, input.cursor, input.max_bytes, 0);
  }

  /** Output from a cursor once the command finished or `timeout_seconds` passed (at once for a finished one). */
  wait(input: ParsedInput<"waitWorkspaceCommand">): Promise<CommandOutput> {
    return this.read(input.workspace_id, input.command_id, input.cursor, input.max_bytes, input.timeout_seconds * 1000);
  }

  /** Signal a command's process group, KILL after a grace period; its state once it ended. */
  async kill(input: ParsedInput<"killWorkspaceCommand">): Promise<CommandState> {
    const { workspace, record } = await this.find(input.workspace_id, input.command_id);
    if (!isFinal(record)) {
      await this.observe(workspace, [record], async (client, secrets) => {
        const agent = await client
          .request<AgentCommand & { type: string }>("command_kill", { command_id: record.command_id, signal: input.signal_name, grace_ms: KILL_GRACE_MS }, { deadlineMs: deadlineFor(2 * KILL_GRACE_MS) })
          .catch(missing);
        await this.settle(client, workspace, record, agent, secrets);
      });
    }
    return view(workspace.workspace_id, record);
  }

  private async read(workspaceId: string, commandId: string, cursor: number, maxBytes: number, waitMs: number): Promise<CommandOutput> {
    const { workspace, record } = await this.find(workspaceId, commandId);
    const id = workspace.workspace_id;
    let output = { output: "", cursor, next_cursor: cursor, dropped_bytes: 0 };
    if (record.state === "lost") return { ...view(id, record), ...output };
    await this.observe(workspace, [record], async (client, secrets) => {
      const patterns = secretPatterns(secrets);
      const back = lookback(patterns);
      const start = Math.max(0, cursor - back);
      // The extra bytes let a secret or a character straddling the limit be seen whole.
      const want = Math.min(MAX_AGENT_READ, cursor - start + maxBytes + back + 4);
      const answer = await client
        .request<AgentRead & { type: string }>("command_read", { command_id: commandId, cursor: start, max_bytes: want, wait_ms: waitMs }, waitMs > 0 ? { deadlineMs: deadlineFor(waitMs) } : undefined)
        .catch(missing);
      if (answer && cursor > answer.output_bytes) {
        throw new PyroError("invalid_argument", `cursor ${cursor} is past the end of command ${commandId}'s output (${answer.output_bytes} bytes so far)`, {
          hint: "read from 0, or from the next_cursor of your previous read",
        });
      }
      if (answer) {
        const data = Buffer.from(answer.output_b64, "base64");
        const more = answer.state === "running" || answer.cursor + data.length < answer.output_bytes;
        const slice = sliceCommandOutput({ start: answer.cursor, data, alive: more }, cursor, maxBytes, patterns);
        output = { output: slice.output, cursor: slice.cursor, next_cursor: slice.nextCursor, dropped_bytes: slice.dropped };
      }
      await this.settle(client, workspace, record, answer, secrets);
    });
    return { ...view(id, record), ...output };
  }

  /** A command's record and its workspace (running or not: a stopped one's commands are lost). */
  private async find(workspaceId: string, commandId: string): Promise<{ workspace: WorkspaceRecord; record: CommandRecord }> {
    const workspace = await this.workspaces.running(workspaceId, { allowStopped: true });
    return { workspace, record: await this.records(workspace.workspace_id).read(commandId) };
  }

  /**
   * Ask the guest about `open` commands in one session. Commands whose
   * machine is gone (stopped, reset, dead) are marked lost without asking;
   * a session that breaks because the machine went meanwhile (a stop or reset
   * from another process) marks them lost too, instead of failing the call.
   */
  private async observe(workspace: WorkspaceRecord, open: CommandRecord[], ask: (client: AgentClient, secrets: SecretValues) => Promise<void>): Promise<void> {
    const id = workspace.workspace_id;
    const current = machineIdentity(workspace.state === "running" ? workspace.handle : null);
    // A command that ended is never turned lost: only one still running dies with its machine.
    const orphaned = open.filter((record) => !isFinal(record) && record.machine !== current);
    for (const record of orphaned) await this.lose(id, record, goneDetail(workspace));
    if (open.every((record) => record.state === "lost" || record.machine !== current)) return;
    const secrets = await loadSecrets(this.workspaces.files(id).secrets);
    const machine = await this.workspaces.machine(workspace);
    try {
      await withRedactedErrors(secrets, () => machine.session((client) => ask(client, secrets)));
    } catch (error) {
      // Only a broken session may mean the machine is going; a refused request is the caller's answer.
      if (error instanceof PyroError && !SESSION_FAILURES.has(error.code)) throw error;
      const now = await this.machineGone(workspace);
      if (now === null) throw error;
      for (const record of open) if (!isFinal(record)) await this.lose(id, record, now);
    }
  }

  /** Why the machine of a broken session is gone, watched for a while; null while it still runs as before. */
  private async machineGone(before: WorkspaceRecord): Promise<string | null> {
    const deadline = Date.now() + GONE_WATCH_MS;
    for (;;) {
      const now = await this.workspaces.refreshed(await this.workspaces.records.read(before.workspace_id));
      const machine = await this.workspaces.machine(now);
      if (now.state !== "running" || machineIdentity(now.handle) !== machineIdentity(before.handle) || !machine.running) return goneDetail(now);
      if (Date.now() > deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Update `record` from the agent's answer (null: the agent no longer knows it), recording a finished command once. */
  private async settle(client: AgentClient, workspace: WorkspaceRecord, record: CommandRecord, agent: AgentCommand | null, secrets: SecretValues): Promise<void> {
    const id = workspace.workspace_id;
    if (isFinal(record)) return;
    if (agent === null) return this.lose(id, record, "the guest agent no longer knows it (its agent restarted, or it ended long ago and was forgotten)");
    Object.assign(record, fromAgent(record, agent));
    if (!isFinal(record)) return;
    const tail = await readTail(client, record.command_id, secrets).catch(() => "");
    await this.record(id, record, tail).catch(() => undefined); // the next call that sees it records it
  }

  /** Write a finished command to the history (once, under the workspace's lock) and its record. */
  private async record(workspaceId: string, record: CommandRecord, tail: string): Promise<void> {
    const records = this.records(workspaceId);
    await this.workspaces.records.update(workspaceId, async (current) => {
      const stored = await records.read(record.command_id);
      if (stored.sequence !== null) {
        record.sequence = stored.sequence;
        return current;
      }
      const sequence = current.command_count + 1;
      await appendHistory(this.workspaces.files(workspaceId).history, {
        sequence,
        command: record.command,
        exit_code: record.exit_code ?? -1,
        started_at: record.started_at,
        duration_ms: record.duration_ms,
        stdout: tail,
        stderr: "",
        command_id: record.command_id,
      });
      record.sequence = sequence;
      await records.write(record);
      return { ...current, command_count: sequence };
    });
  }

  private async lose(workspaceId: string, record: CommandRecord, detail: string): Promise<void> {
    Object.assign(record, { state: "lost", detail, output_bytes: null });
    await this.records(workspaceId).write(record);
  }
}

/** The agent answered not_found: it no longer knows the command. */
function missing(error: unknown): null {
  if (error instanceof PyroError && error.code === "not_found") return null;
  throw error;
}

/** The last bytes of a finished command's output for its history entry, redacted. */
async function readTail(client: AgentClient, commandId: string, secrets: SecretValues): Promise<string> {
  const state = await client.request<AgentRead & { type: string }>("command_read", { command_id: commandId, cursor: 0, max_bytes: 0 });
  const patterns = secretPatterns(secrets);
  const from = Math.max(0, state.output_bytes - HISTORY_OUTPUT_CHARS - lookback(patterns));
  const answer = await client.request<AgentRead & { type: string }>("command_read", { command_id: commandId, cursor: from, max_bytes: MAX_AGENT_READ });
  const data = Buffer.from(answer.output_b64, "base64");
  const cursor = Math.max(answer.cursor, state.output_bytes - HISTORY_OUTPUT_CHARS);
  const slice = sliceCommandOutput({ start: answer.cursor, data, alive: false }, cursor, MAX_AGENT_READ, patterns);
  return cursor > 0 ? `[… ${cursor} earlier bytes not kept in history]\n${slice.output}` : slice.output;
}

function isFinal(record: CommandRecord): boolean {
  return record.state !== "running";
}

function goneDetail(workspace: WorkspaceRecord): string {
  if (workspace.state === "stopped") return "its workspace was stopped, which ended it; its output is gone";
  if (workspace.state === "running") return "its workspace was reset (or restarted) since it started, which ended it; its output is gone";
  return `its workspace's machine is ${workspace.state}; its output is gone`;
}

function newRecord(commandId: string, command: string, machine: string): CommandRecord {
  return {
    command_id: commandId,
    command,
    machine,
    state: "running",
    pid: null,
    exit_code: null,
    signal: null,
    started_at: new Date().toISOString(),
    ended_at: null,
    duration_ms: 0,
    output_bytes: 0,
    detail: null,
    sequence: null,
  };
}

/** `record` with what the agent says now. */
function fromAgent(record: CommandRecord, agent: AgentCommand): CommandRecord {
  return {
    ...record,
    state: agent.state,
    pid: agent.pid > 0 ? agent.pid : null,
    exit_code: agent.exit_code ?? null,
    signal: agent.signal ?? null,
    started_at: agent.started_at || record.started_at,
    ended_at: agent.ended_at ?? null,
    duration_ms: agent.duration_ms,
    output_bytes: agent.output_bytes,
  };
}

/** The public view of a record. */
function view(workspaceId: string, record: CommandRecord): CommandState {
  return {
    workspace_id: workspaceId,
    command_id: record.command_id,
    command: record.command,
    state: record.state,
    finished: record.state !== "running",
    pid: record.pid,
    exit_code: record.exit_code,
    signal: record.signal,
    started_at: record.started_at,
    ended_at: record.ended_at,
    duration_ms: record.duration_ms,
    output_bytes: record.output_bytes,
    detail: record.detail,
  };
}
