import type { ExecOptions } from "../../agent-client/index.js";
import type { CommandCallOptions } from "../../contract/index.js";
import { OutputRelay } from "../output-relay.js";

/**
 * How much of each output stream the guest forwards while a caller streams
 * it: the protocol's maximum (1 GiB). The result still keeps only the first
 * `maxOutputBytes` on the host; without a listener the guest stops
 * forwarding there too.
 */
export const STREAMED_GUEST_OUTPUT_BYTES = 1024 * 1024 * 1024;

/** The live part of a {@link MachineExec}: listeners, cancellation, signalling. */
export type ExecStreaming = Pick<ExecOptions, "onStdout" | "onStderr" | "signal" | "onSignaller"> & {
  /** What the guest may forward per stream, when more than the result keeps. */
  guestMaxOutputBytes?: number;
};

/** A caller's {@link CommandCallOptions} bound to one exec. */
export interface CommandStream {
  /** What the exec request takes. */
  exec: ExecStreaming;
  /** Emit what the relays held back; call once the exec settled, before the call settles. */
  finish(): void;
  /** Throw the caller's abort reason if it aborted (before the command starts, or after it was killed). */
  throwIfAborted(): void;
}

/**
 * Bind a call's options to one exec: each output stream goes through an
 * {@link OutputRelay} (UTF-8 text, `patterns` redacted, also across chunks),
 * the abort signal kills the command's process group, and `onStart` gets a
 * handle that signals it.
 */
export function commandStream(options: CommandCallOptions | undefined, patterns: Buffer[] = []): CommandStream {
  const relays: OutputRelay[] = [];
  const relay = (emit: ((chunk: string) => void) | undefined): ((chunk: Buffer) => void) | undefined => {
    if (!emit) return undefined;
    const r = new OutputRelay(patterns, emit);
    relays.push(r);
    return (chunk) => r.push(chunk);
  };
  const onStdout = relay(options?.onStdout);
  const onStderr = relay(options?.onStderr);
  const onStart = options?.onStart;
  const exec: ExecStreaming = {
    ...(onStdout ? { onStdout } : {}),
    ...(onStderr ? { onStderr } : {}),
    ...(options?.signal ? { signal: options.signal } : {}),
    ...(onStart ? { onSignaller: (send) => onStart({ signal: send }) } : {}),
    ...(relays.length > 0 ? { guestMaxOutputBytes: STREAMED_GUEST_OUTPUT_BYTES } : {}),
  };
  return {
    exec,
    finish: () => {
      for (const r of relays) r.end();
    },
    throwIfAborted: () => options?.signal?.throwIfAborted(),
  };
}
