import type { OperationResult } from "../contract/index.js";
import type { CliBinding, Output } from "./binding.js";
import { printFields } from "./format.js";

const command = [
  { field: "workspace_id", name: "workspace-id" },
  { field: "command_id", name: "command-id" },
];

type Started = Extract<OperationResult<"execWorkspace">, { background: true }>;
type CommandOutput = OperationResult<"logsWorkspaceCommand">;

/** `workspace exec --background`: the id on stdout (for `$(…)`), how to follow it on stderr. */
export function printBackgroundStarted(result: Started, out: Output): void {
  out.stdout(`${result.command_id}\n`);
  out.stderr(
    `[command] started ${result.command_id} pid=${result.pid ?? "-"}; follow it with: pyro workspace command wait ${result.workspace_id} ${result.command_id}\n`,
  );
}

/** Output on stdout as the guest printed it; what was dropped and where to read next on stderr. */
function printOutput(result: CommandOutput, out: Output): void {
  if (result.dropped_bytes > 0) out.stderr(`[pyro] ${result.dropped_bytes} bytes dropped before this read (the guest keeps the last 1 MiB of each command)\n`);
  out.stdout(result.output);
  const exit = result.finished ? ` exit_code=${result.exit_code ?? "-"}` : "";
  out.stderr(`[command] ${result.command_id} state=${result.state}${exit} next_cursor=${result.next_cursor}${result.detail ? ` (${result.detail})` : ""}\n`);
}

/** The exit code a finished command's status implies: its own, 1 for a lost one. */
function finishedCode(result: { state: string; exit_code: number | null }): number {
  return result.state === "lost" ? 1 : (result.exit_code ?? 1);
}

/** Exit code of `wait` still running at its timeout, as timeout(1) uses. */
const STILL_RUNNING = 124;

/** `workspace command list|status|logs|wait|kill`. */
export const COMMAND_BINDINGS: {
  listWorkspaceCommands: CliBinding<"listWorkspaceCommands">;
  statusWorkspaceCommand: CliBinding<"statusWorkspaceCommand">;
  logsWorkspaceCommand: CliBinding<"logsWorkspaceCommand">;
  waitWorkspaceCommand: CliBinding<"waitWorkspaceCommand">;
  killWorkspaceCommand: CliBinding<"killWorkspaceCommand">;
} = {
  listWorkspaceCommands: {
    path: ["workspace", "command", "list"],
    positionals: [command[0]!],
    print: (r, out) => {
      for (const c of r.commands) out.stdout(`${c.command_id} ${c.state} exit=${c.exit_code ?? "-"} ${c.started_at} $ ${c.command}\n`);
    },
  },
  statusWorkspaceCommand: { path: ["workspace", "command", "status"], positionals: command, print: (r, out) => printFields(r, out) },
  logsWorkspaceCommand: { path: ["workspace", "command", "logs"], positionals: command, print: printOutput },
  waitWorkspaceCommand: {
    path: ["workspace", "command", "wait"],
    positionals: command,
    print: printOutput,
    // The command's own exit code once it finished; 124 while it still runs.
    exitCode: (r) => (r.finished ? finishedCode(r) : STILL_RUNNING),
  },
  killWorkspaceCommand: {
    path: ["workspace", "command", "kill"],
    positionals: command,
    rename: { signal_name: "signal" },
    print: (r, out) => printFields(r, out),
  },
};
