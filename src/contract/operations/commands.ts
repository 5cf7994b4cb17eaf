import { z } from "zod";
import { defineOperation } from "../operation.js";
import { backendName, executionMode, id, sizeText } from "../common.js";
import { COMMAND_STATES, SIGNAL_NAMES } from "../../util/vocabulary.js";

/** How much output the guest keeps per background command (its tail). */
export const COMMAND_BUFFER_BYTES = 1024 * 1024;
/** Most bytes one logs or wait call returns (one protocol frame, base64-encoded). */
export const COMMAND_READ_MAX_BYTES = 512 * 1024;
/** Most seconds one wait call blocks. */
export const COMMAND_WAIT_MAX_SECONDS = 3600;

/** What a model must know to poll a background command. */
const POLLING =
  `Output (stdout and stderr in one log, in the order written) is kept in the guest, the last ${sizeText(COMMAND_BUFFER_BYTES)} per command; ` +
  "cursors are byte offsets into everything the command printed: read from 0, then from next_cursor. " +
  "dropped_bytes > 0 means output older than the kept tail was lost before it was read.";

/** Tells a model (and `--help`) when to run a command in the background. */
export const BACKGROUND_NOTE =
  "For anything that may run over a minute (builds, test suites, servers you wait on), set background: true: the call returns a command_id at once; " +
  "then call workspace_command_wait (from next_cursor) until finished is true, and workspace_command_kill to stop it early.";

export const backgroundInput = z
  .boolean()
  .default(false)
  .describe(
    "Start the command and return its command_id at once instead of waiting (default false); poll it with workspace_command_wait/logs/status, end it with workspace_command_kill. " +
      "A background command has no timeout (timeout_seconds does not apply) and ends with its workspace's machine (stop, reset, delete)",
  );

const commandRef = z.object({ workspace_id: id("workspace id"), command_id: id("command id") });

/** A background command as every command call reports it. */
export const commandState = z.object({
  workspace_id: z.string(),
  command_id: z.string(),
  command: z.string(),
  state: z
    .enum(COMMAND_STATES)
    .describe("running; exited: ended by itself (see exit_code); killed: ended after workspace_command_kill; lost: its machine was stopped, reset or died, so its end and output are unknown"),
  finished: z.boolean().describe("Whether the command is no longer running (exited, killed or lost)"),
  pid: z.number().int().nullable(),
  exit_code: z.number().int().nullable().describe("Once exited or killed: the exit status, 128+N for signal N"),
  signal: z.string().nullable().describe("The signal that ended it, if one did"),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  duration_ms: z.number().int(),
  output_bytes: z.number().int().nullable().describe("Bytes the command printed so far, kept or not (null once lost)"),
  detail: z.string().nullable().describe("Why a command is lost"),
});

/** What `workspace_exec` with `background: true` returns at once. */
export const backgroundStarted = commandState.extend({
  background: z.literal(true),
  backend: backendName,
  execution_mode: executionMode,
});

const outputFields = {
  output: z.string().describe("Output from cursor, secrets redacted; a tail that may be the start of a secret is held back until the command prints past it"),
  cursor: z.number().int().describe("Where output starts (the requested cursor, moved up past dropped output)"),
  next_cursor: z.number().int().describe("Where the next read should start"),
  dropped_bytes: z.number().int().describe("Bytes between the requested cursor and the oldest byte the guest still keeps"),
};

const cursor = z.number().int().min(0, "cursor must not be negative").default(0).describe("Byte offset to read from (default 0: the start)");
const maxBytes = z
  .number()
  .int()
  .min(1, "max_bytes must be at least 1")
  .max(COMMAND_READ_MAX_BYTES, `max_bytes is at most ${COMMAND_READ_MAX_BYTES}`)
  .default(65536)
  .describe(`Most bytes of output to return (default 65536, at most ${COMMAND_READ_MAX_BYTES}); read again from next_cursor for more`);

export const listCommands = defineOperation({
  mcp: "workspace_command_list",
  summary: "List a workspace's background commands",
  details: "Every command started with workspace_exec background=true that the guest still remembers (the 64 most recent finished ones): command_id, command, state (running, exited, killed, lost), exit_code once done. Use it to find a command_id again after losing it.",
  input: z.object({ workspace_id: id("workspace id") }),
  result: z.object({ workspace_id: z.string(), commands: z.array(commandState) }),
});

export const statusCommand = defineOperation({
  mcp: "workspace_command_status",
  summary: "Report a background command's state and exit code",
  details: "state is running, exited, killed or lost (its machine was stopped, reset or died); exit_code is set once it has exited. Returns at once and no output: use workspace_command_wait to wait, workspace_command_logs for output.",
  input: commandRef,
  result: commandState,
});

export const logsCommand = defineOperation({
  mcp: "workspace_command_logs",
  summary: "Read a background command's output from a cursor, without waiting",
  details: POLLING,
  input: commandRef.extend({ cursor, max_bytes: maxBytes }),
  result: commandState.extend(outputFields),
});

export const waitCommand = defineOperation({
  mcp: "workspace_command_wait",
  summary: "Wait up to timeout_seconds for a background command to finish, then return its new output and whether it finished",
  details:
    `Returns at once when the command has finished. Keep timeout_seconds below your client's tool-call timeout (60 s is safe) and call again from next_cursor while finished is false. ${POLLING}`,
  input: commandRef.extend({
    timeout_seconds: z
      .number()
      .int()
      .min(0, "timeout_seconds must not be negative")
      .max(COMMAND_WAIT_MAX_SECONDS, `timeout_seconds is at most ${COMMAND_WAIT_MAX_SECONDS}`)
      .default(30)
      .describe(`Most seconds to wait for the command to finish (default 30, at most ${COMMAND_WAIT_MAX_SECONDS}; 0 reads at once)`),
    cursor,
    max_bytes: maxBytes,
  }),
  result: commandState.extend(outputFields),
});

export const killCommand = defineOperation({
  mcp: "workspace_command_kill",
  summary: "End a background command: a signal to its process group, KILL after 5 s",
  details: "Signals the command and every process it started. Killing a command that already ended changes nothing. Returns the command's state (killed, with the exit code the signal gave).",
  input: commandRef.extend({
    signal_name: z.enum(SIGNAL_NAMES).default("TERM").describe("Signal sent first (default TERM); KILL follows if it is still running 5 s later"),
  }),
  result: commandState,
});
