import type { SignalName } from "../util/vocabulary.js";
import type { OperationName } from "./catalog.js";

/**
 * The operations that run one foreground command and can stream its output
 * as it arrives: their SDK methods take {@link CommandCallOptions} as a
 * second argument, the CLI prints their output live, MCP reports it as
 * progress.
 */
export const STREAMING_OPERATIONS = ["runInVm", "execVm", "execWorkspace"] as const satisfies readonly OperationName[];
/** One of {@link STREAMING_OPERATIONS}. */
export type StreamingOperation = (typeof STREAMING_OPERATIONS)[number];

/** Whether `name` runs a foreground command whose output can be streamed. */
export function isStreamingOperation(name: OperationName): name is StreamingOperation {
  return (STREAMING_OPERATIONS as readonly string[]).includes(name);
}

/**
 * Operations that create a machine and, cancelled before it is ready (while
 * they wait for a boot slot, or while it boots), delete what they made and
 * reject with the abort's reason: an MCP cancellation or `CallOptions.signal`
 * does that, and the CLI turns Ctrl-C into it.
 */
export const CANCELLABLE_CREATES = ["createWorkspace"] as const satisfies readonly OperationName[];
/** One of {@link CANCELLABLE_CREATES}. */
export type CancellableCreate = (typeof CANCELLABLE_CREATES)[number];

/**
 * Per-call options of the {@link CANCELLABLE_CREATES} (`createWorkspace`):
 * `signal` cancels the create while it waits for a boot slot or boots (what
 * it made is deleted, the call rejects with the abort's reason);
 * `onProgress` receives this call's own phase lines.
 */
export type CreateCallOptions = Pick<CallOptions, "signal" | "onProgress">;

/** Whether `name` is one of {@link CANCELLABLE_CREATES}. */
export function isCancellableCreate(name: OperationName): boolean {
  return (CANCELLABLE_CREATES as readonly string[]).includes(name);
}

/** The running guest command of a streaming call, handed to {@link CommandCallOptions.onStart}. */
export interface RunningCommand {
  /** Send a signal to the command's process group in the guest (`"INT"` as Ctrl-C does); a no-op once it finished. */
  signal(name: SignalName): void;
}

/**
 * Per-call options of the operations that run a command (`runInVm`,
 * `execVm`, `execWorkspace`). The result is the same with or without them.
 */
export interface CommandCallOptions {
  /**
   * Each piece of the command's stdout as it arrives, in order, as UTF-8
   * text. A workspace's secrets are redacted from every chunk, also a secret
   * split across two chunks: a tail that may begin a secret is held back
   * until the next chunk or the end. Every chunk is delivered before the
   * call settles. With a callback the guest forwards all output to it (up to
   * 1 GiB); the result still keeps the first 1 MiB.
   */
  onStdout?: (chunk: string) => void;
  /** Each piece of the command's stderr as it arrives; as {@link onStdout}. */
  onStderr?: (chunk: string) => void;
  /**
   * Aborting kills the guest command (SIGKILL to its process group; a
   * one-shot VM is deleted as usual) and the call rejects with the signal's
   * `reason` once the guest confirmed the kill. Aborted before the command
   * started, it never starts.
   */
  signal?: AbortSignal;
  /** Called once the command runs, with a handle to signal it (e.g. forward Ctrl-C as `"INT"`). */
  onStart?: (command: RunningCommand) => void;
}

/** Options of `Pyro#call`: the command options of streaming operations, plus this call's own progress lines. */
export interface CallOptions extends CommandCallOptions {
  /**
   * Phase and progress lines of this call only (`[run] phase=execute …`),
   * besides the `Pyro`'s own `onProgress`; MCP turns them into progress
   * notifications.
   */
  onProgress?: (line: string) => void;
}
