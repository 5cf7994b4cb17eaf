import type { CommandCallOptions, RunningCommand } from "../contract/index.js";
import type { Output } from "./binding.js";

/** Exit code of a command cancelled with Ctrl-C before it started (128 + SIGINT, as shells report it). */
export const INTERRUPTED_EXIT_CODE = 130;

/** Ctrl-C forwarding for one command run by the CLI. */
export interface InterruptForwarding {
  /** The call options that connect Ctrl-C to the command. */
  options: Pick<CommandCallOptions, "signal" | "onStart">;
  /** Whether Ctrl-C came before the command started (the call then rejects). */
  cancelled(): boolean;
  /** Give SIGINT back to its default handling. */
  dispose(): void;
}

/**
 * While a command runs, Ctrl-C (SIGINT to the CLI) goes to the command, not
 * the CLI: the first sends SIGINT to its process group in the guest, the
 * next SIGKILL; the CLI then exits with the command's own status. Before the
 * command started (a VM booting) Ctrl-C cancels the call, which cleans up
 * what it made. For a create (`notStarting` says what does not happen) only
 * the cancelling applies: there is no command.
 */
export function forwardInterrupts(out: Output, notStarting = "the command will not start"): InterruptForwarding {
  const controller = new AbortController();
  let command: RunningCommand | null = null;
  let forwarded = 0;
  const onSigint = (): void => {
    if (command) {
      forwarded += 1;
      command.signal(forwarded === 1 ? "INT" : "KILL");
      out.stderr(forwarded === 1 ? "[pyro] sent SIGINT to the command (Ctrl-C again kills it)\n" : "[pyro] sent SIGKILL to the command\n");
    } else if (!controller.signal.aborted) {
      controller.abort(new Error("cancelled with Ctrl-C"));
      out.stderr(`[pyro] cancelling: ${notStarting}; cleaning up\n`);
    }
  };
  process.on("SIGINT", onSigint);
  return {
    options: {
      signal: controller.signal,
      onStart: (running) => {
        command = running;
      },
    },
    cancelled: () => controller.signal.aborted && command === null,
    dispose: () => {
      process.off("SIGINT", onSigint);
    },
  };
}
