import type { AgentClient } from "../../agent-client/index.js";
import { LIMITS, type OperationResult, type ParsedInput } from "../../contract/index.js";
import { withRedactedErrors, secretPatterns } from "./redaction.js";
import { loadSecrets, secretEnvironment, type SecretValues } from "./secrets.js";
import type { WorkspaceService } from "./service.js";
import { imageEnv } from "../machines/image-env.js";
import { userField } from "../machines/image-user.js";
import type { Machine } from "../machines/machine.js";
import { lookback, sliceShellOutput } from "./shell-output.js";
import { plainText, unfinishedEscapeAt } from "./plain-text.js";

/** What the agent's `shell_read` answers (protocol/SPEC.md). */
type AgentShellRead = {
  output_b64: string;
  cursor: number;
  next_cursor: number;
  dropped_bytes: number;
  alive: boolean;
  exit_code: number | null;
};

/**
 * Most bytes one read asks for: the agent's answer is one CONTROL frame
 * (at most 1 MiB of JSON), and base64 grows bytes by a third.
 */
const MAX_READ_BYTES = 512 * 1024;

/** A cursor past any output: a read there returns nothing but the shell's state. */
const END_CURSOR = Number.MAX_SAFE_INTEGER;

/**
 * Interactive PTY shells of a workspace. The agent holds them, so a shell
 * outlives the CLI call (and agent session) that opened it; every call here
 * opens a fresh session. Output is redacted of the workspace's secrets.
 *
 * Cursors are byte offsets into everything a shell printed since it opened,
 * as the guest counts them; `max_chars` bounds the characters returned and
 * `dropped_chars` counts bytes the guest no longer kept when the reader fell
 * behind its 1 MiB buffer.
 */
export class ShellService {
  constructor(private readonly workspaces: WorkspaceService) {}

  /** Open a shell (cwd, terminal size, secrets as environment variables). */
  async open(input: ParsedInput<"openShell">): Promise<OperationResult<"openShell">> {
    return this.call(input.workspace_id, async (client, secrets, machine) => {
      // An OCI image's Env under the call's secrets.
      const env = { ...imageEnv(machine.spec.environment), ...secretEnvironment(input.secret_env, secrets) };
      const opened = await client.request<{ type: string; shell_id: string; pid: number }>("shell_open", {
        cwd: input.cwd,
        cols: input.cols,
        rows: input.rows,
        env,
        // The image's User runs it (image-user.ts).
        ...userField(machine.spec.environment),
      });
      return { workspace_id: input.workspace_id, shell_id: opened.shell_id, pid: opened.pid, cwd: input.cwd, cols: input.cols, rows: input.rows, alive: true, exit_code: null };
    });
  }

  /**
   * Read output from a cursor: at once, or once the output has been quiet
   * for `wait_for_idle_ms`; as it came, or (`plain`) as plain text.
   */
  async read(input: ParsedInput<"readShell">): Promise<OperationResult<"readShell">> {
    return this.call(input.workspace_id, async (client, secrets) => {
      if (input.wait_for_idle_ms !== undefined) await waitForIdle(client, input.shell_id, input.wait_for_idle_ms);
      const patterns = secretPatterns(secrets);
      const back = lookback(patterns);
      const start = Math.max(0, input.cursor - back);
      // max_chars characters never take more than 4 bytes each; the extra covers a secret straddling the end.
      const maxBytes = Math.min(MAX_READ_BYTES, input.cursor - start + input.max_chars * 4 + back + 1);
      const answer = await client.request<AgentShellRead & { type: string }>("shell_read", { shell_id: input.shell_id, cursor: start, max_bytes: maxBytes });
      let data = Buffer.from(answer.output_b64, "base64");
      // A full window may stop mid-secret even in a dead shell's output: hold its tail back too.
      const more = answer.alive || data.length >= maxBytes;
      if (input.plain && more) {
        // Stop before a sequence the shell has not finished printing; the next read starts at it.
        const unfinished = unfinishedEscapeAt(data);
        if (unfinished >= Math.max(0, input.cursor - answer.cursor)) data = data.subarray(0, unfinished);
      }
      const slice = sliceShellOutput({ start: answer.cursor, data, alive: more }, input.cursor, input.max_chars, patterns);
      return {
        workspace_id: input.workspace_id,
        shell_id: input.shell_id,
        output: input.plain ? plainText(slice.output) : slice.output,
        cursor: slice.cursor,
        next_cursor: slice.nextCursor,
        dropped_chars: slice.dropped,
        alive: answer.alive,
        exit_code: answer.exit_code,
      };
    });
  }

  /** Write input (and a newline unless told not to) to the shell's terminal. */
  async write(input: ParsedInput<"writeShell">): Promise<OperationResult<"writeShell">> {
    return this.call(input.workspace_id, async (client) => {
      const text = input.append_newline ? `${input.input}\n` : input.input;
      await client.request("shell_write", { shell_id: input.shell_id, input_b64: Buffer.from(text, "utf8").toString("base64") });
      return { ...(await shellState(client, input.workspace_id, input.shell_id)), written_chars: text.length };
    });
  }

  /** Send a signal to the terminal's foreground process group, as a key like Ctrl-C would. */
  async signal(input: ParsedInput<"signalShell">): Promise<OperationResult<"signalShell">> {
    return this.call(input.workspace_id, async (client) => {
      await client.request("shell_signal", { shell_id: input.shell_id, signal: input.signal_name });
      return { ...(await shellState(client, input.workspace_id, input.shell_id)), signal_name: input.signal_name };
    });
  }

  /** Hang up and forget a shell. */
  async close(input: ParsedInput<"closeShell">): Promise<OperationResult<"closeShell">> {
    return this.call(input.workspace_id, async (client) => {
      const closed = await client.request<{ type: string; exit_code: number | null }>("shell_close", { shell_id: input.shell_id });
      return { workspace_id: input.workspace_id, shell_id: input.shell_id, alive: false, exit_code: closed.exit_code ?? null, closed: true };
    });
  }

  /** One agent session on a running workspace, with its secrets, errors redacted. */
  private async call<R>(workspaceId: string, fn: (client: AgentClient, secrets: SecretValues, machine: Machine) => Promise<R>): Promise<R> {
    const record = await this.workspaces.running(workspaceId);
    const secrets = await loadSecrets(this.workspaces.files(record.workspace_id).secrets);
    const machine = await this.workspaces.machine(record);
    return withRedactedErrors(secrets, () => machine.session((client) => fn(client, secrets, machine)));
  }
}

/** How often a wait for quiet output asks the guest how far the output has got, at most. */
const IDLE_POLL_MS = 100;

/**
 * Wait until the shell has printed nothing for `idleMs`, it has exited, or
 * {@link LIMITS.shell_idle_wait_seconds} have passed (a shell that never
 * stops printing). The guest is asked only for the output's end, never for
 * output.
 */
async function waitForIdle(client: AgentClient, shellId: string, idleMs: number): Promise<void> {
  const deadline = Date.now() + LIMITS.shell_idle_wait_seconds * 1000;
  const end = async () => client.request<AgentShellRead & { type: string }>("shell_read", { shell_id: shellId, cursor: END_CURSOR, max_bytes: 1 });
  let last = await end();
  let quietSince = Date.now();
  while (last.alive) {
    const now = Date.now();
    const quietFor = now - quietSince;
    if (quietFor >= idleMs || now >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(IDLE_POLL_MS, idleMs - quietFor, deadline - now))));
    const current = await end();
    if (current.cursor !== last.cursor) quietSince = Date.now();
    last = current;
  }
}

/** Whether a shell is alive, read without consuming output. */
async function shellState(client: AgentClient, workspaceId: string, shellId: string) {
  const state = await client.request<AgentShellRead & { type: string }>("shell_read", { shell_id: shellId, cursor: END_CURSOR, max_bytes: 1 });
  return { workspace_id: workspaceId, shell_id: shellId, alive: state.alive, exit_code: state.exit_code };
}
