import { z } from "zod";
import { defineOperation } from "../operation.js";
import { boundedInt, boundedString, id, sizeText } from "../common.js";
import { DEFAULTS, LIMITS } from "../defaults.js";
import { secretEnv } from "./workspaces.js";
import { SIGNAL_NAMES } from "../../util/vocabulary.js";

const shellRef = z.object({ workspace_id: id("workspace id"), shell_id: id("shell id") });
const shellState = z.object({
  workspace_id: z.string(),
  shell_id: z.string(),
  alive: z.boolean(),
  exit_code: z.number().int().nullable(),
});

export const openShell = defineOperation({
  mcp: "shell_open",
  summary: "Open a persistent PTY shell in a workspace",
  details: "For interactive programs and state that must outlive one command (cd, variables, a REPL): workspace_exec is simpler for one-shot commands. Returns shell_id; then shell_write input, shell_read output (wait_for_idle_ms, plain), shell_close when done. Shells end when the workspace stops or resets.",
  input: z.object({
    workspace_id: id("workspace id"),
    cwd: z.string().default(DEFAULTS.cwd).describe(`Working directory (default ${DEFAULTS.cwd})`),
    cols: boundedInt({ min: 10, max: 1000 }, DEFAULTS.shell_cols, "Terminal columns"),
    rows: boundedInt({ min: 2, max: 1000 }, DEFAULTS.shell_rows, "Terminal rows"),
    secret_env: secretEnv,
  }),
  result: shellState.extend({ pid: z.number().int(), cwd: z.string(), cols: z.number().int(), rows: z.number().int() }),
});

export const readShell = defineOperation({
  mcp: "shell_read",
  summary: "Read a shell's output from a cursor",
  details: "Pass the previous read's next_cursor as cursor to get only new output (cursor 0: everything still buffered). After shell_write, set wait_for_idle_ms (e.g. 500) to return once the output has settled instead of polling, and plain: true for text without terminal escape codes. Returns output, next_cursor, alive and exit_code.",
  input: shellRef.extend({
    cursor: z.number().int().min(0).default(DEFAULTS.shell_cursor).describe("Output position to read from (default 0)"),
    max_chars: boundedInt({ min: 1, max: 1_048_576 }, DEFAULTS.shell_max_chars, "Most characters to return"),
    plain: z
      .boolean()
      .default(false)
      .describe("Return plain text: terminal control sequences (colours, cursor moves, titles) removed, CR LF as LF, overwritten line parts resolved (default false)"),
    wait_for_idle_ms: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.shell_idle_wait_seconds * 1000)
      .optional()
      .describe(
        `Before reading, wait until the shell has printed nothing for this many milliseconds (e.g. 500 after writing a command), or it exits; at most ${LIMITS.shell_idle_wait_seconds} s in all. Default: read at once`,
      ),
  }),
  result: shellState.extend({
    output: z.string(),
    cursor: z.number().int(),
    next_cursor: z.number().int(),
    dropped_chars: z.number().int().describe("Output lost because the reader fell behind the guest buffer"),
  }),
});

export const writeShell = defineOperation({
  mcp: "shell_write",
  summary: "Write input to a shell",
  details: "Types input into the terminal, plus a newline unless append_newline is false; does not wait for output (read it with shell_read and wait_for_idle_ms). Returns written_chars.",
  input: shellRef.extend({
    input: boundedString("input", LIMITS.shell_input_bytes).describe(
      `Text to type into the terminal (a newline is added unless append_newline is false); at most ${sizeText(LIMITS.shell_input_bytes)} of UTF-8`,
    ),
    append_newline: z.boolean().default(DEFAULTS.shell_append_newline).describe("Append a newline (default true)"),
  }),
  result: shellState.extend({ written_chars: z.number().int() }),
});

export const signalShell = defineOperation({
  mcp: "shell_signal",
  summary: "Send a signal to a shell's foreground process",
  details: "signal_name INT (default) is Ctrl-C: stops a command that hangs without closing the shell.",
  input: shellRef.extend({
    signal_name: z.enum(SIGNAL_NAMES).default("INT").describe("Signal (default INT)"),
  }),
  result: shellState.extend({ signal_name: z.string() }),
});

export const closeShell = defineOperation({
  mcp: "shell_close",
  summary: "Close a shell",
  details: "Hangs up the terminal and frees the shell; returns its exit_code.",
  input: shellRef,
  result: shellState.extend({ closed: z.boolean() }),
});
