import type { Readable } from "node:stream";
import { FrameKind, type ControlMessage, type ExecRequest, type SignalName } from "../protocol/index.js";
import { PyroError } from "../util/errors.js";
import type { AgentClient, OpenStream } from "./client.js";
import { deadlineFor } from "./deadline.js";
import { agentError, malformed } from "./errors.js";
import { BoundedOutput } from "./output.js";

/** The agent's default `max_output_bytes` (protocol/SPEC.md). */
const AGENT_DEFAULT_MAX_OUTPUT = 1024 * 1024;
/** The agent's default `timeout_ms` (protocol/SPEC.md). */
const AGENT_DEFAULT_TIMEOUT_MS = 30_000;

/** Options of {@link AgentClient.exec}. */
export interface ExecOptions {
  /**
   * How many bytes of each of stdout and stderr the host keeps for the
   * result, whatever the guest sends. Past it the result says `*_truncated`.
   */
  maxBufferedBytes: number;
  /** Every stdout chunk as it arrives (up to the request's `max_output_bytes`). */
  onStdout?: (chunk: Buffer) => void;
  /** Every stderr chunk as it arrives (up to the request's `max_output_bytes`). */
  onStderr?: (chunk: Buffer) => void;
  /** Called once the process started, with its pid in the guest. */
  onStarted?: (pid: number) => void;
  /**
   * Standard input. Sets `stdin: true` on the request; the process reads end
   * of file after the last byte.
   */
  stdin?: string | Uint8Array | Readable | AsyncIterable<Uint8Array | string>;
  /**
   * Aborting sends `abortSignal` (default KILL) to the process group; the
   * promise still resolves with the process's result.
   */
  signal?: AbortSignal;
  /** The signal an abort sends. */
  abortSignal?: SignalName;
  /**
   * Receives, once the request is open, a function that sends a signal to
   * the command's process group (Ctrl-C forwarding). Sending after the
   * command finished does nothing.
   */
  onSignaller?: (send: (signal: SignalName) => void) => void;
}

/** What an exec produced. */
export interface ExecResult {
  exit_code: number;
  /** Name of the signal that killed the process ("KILL"), or null. */
  signal: string | null;
  timed_out: boolean;
  /** Output as text, decoded lossily (invalid UTF-8 becomes U+FFFD). */
  stdout: string;
  stderr: string;
  /** Whether the guest or the host dropped part of the output. */
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  /** Bytes the process wrote, as the guest counted them. */
  stdout_bytes: number;
  stderr_bytes: number;
  duration_ms: number;
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Check a guest's exec result. */
function checkResult(m: ControlMessage): Omit<ExecResult, "stdout" | "stderr"> | null {
  const exit = m.exit_code;
  if (typeof exit !== "number" || !Number.isInteger(exit) || exit < 0 || exit > 255 + 128) return null;
  if (m.signal !== null && !(typeof m.signal === "string" && m.signal.length <= 16 && /^[A-Z0-9]+$/.test(m.signal))) return null;
  if (typeof m.timed_out !== "boolean" || typeof m.stdout_truncated !== "boolean" || typeof m.stderr_truncated !== "boolean") return null;
  if (!isCount(m.stdout_bytes) || !isCount(m.stderr_bytes) || !isCount(m.duration_ms)) return null;
  return {
    exit_code: exit,
    signal: m.signal,
    timed_out: m.timed_out,
    stdout_truncated: m.stdout_truncated,
    stderr_truncated: m.stderr_truncated,
    stdout_bytes: m.stdout_bytes,
    stderr_bytes: m.stderr_bytes,
    duration_ms: m.duration_ms,
  };
}

/**
 * Implementation of {@link AgentClient.exec}. The request's host-side
 * deadline is its `timeout_ms` plus a margin (deadline.ts): an agent that
 * has not answered by then is wedged, and the exec rejects with `timeout`.
 */
export function runExec(client: AgentClient, request: ExecRequest, options: ExecOptions): Promise<ExecResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new PyroError("timeout", "the command was cancelled before it started"));
  // What the guest may send per stream: more is a guest that ignores the
  // limit, and is dropped without reaching the callbacks.
  const guestLimit = request.max_output_bytes ?? AGENT_DEFAULT_MAX_OUTPUT;
  const stdout = new BoundedOutput(options.maxBufferedBytes);
  const stderr = new BoundedOutput(options.maxBufferedBytes);
  let stdinError: unknown;

  return new Promise<ExecResult>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const settle = (): void => {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    };
    const deliver = (out: BoundedOutput, callback: ((chunk: Buffer) => void) | undefined, chunk: Buffer): void => {
      if (out.received >= guestLimit) {
        out.truncated = true;
        return;
      }
      const allowed = chunk.length > guestLimit - out.received ? chunk.subarray(0, guestLimit - out.received) : chunk;
      out.push(allowed);
      if (allowed.length < chunk.length) out.truncated = true;
      try {
        callback?.(allowed);
      } catch {
        // A throwing callback must not break the session of every other request.
      }
    };
    let stream: OpenStream;
    try {
      stream = client.open("exec", { ...request, stdin: options.stdin !== undefined }, {
        onData: (kind, payload) => {
          if (payload.length === 0) return;
          if (kind === FrameKind.STDOUT) deliver(stdout, options.onStdout, payload);
          else deliver(stderr, options.onStderr, payload);
        },
        onEvent: (message) => {
          if (message.event === "started" && typeof message.pid === "number") options.onStarted?.(message.pid);
        },
        onFinal: (message) => {
          settle();
          if (message.type === "error") return reject(agentError("exec", message));
          const result = checkResult(message);
          if (result === null) return reject(malformed("exec", "result"));
          if (stdinError !== undefined) {
            return reject(new PyroError("io_error", `reading the command's stdin failed: ${String(stdinError)}`, { cause: stdinError }));
          }
          resolve({
            ...result,
            stdout: stdout.text(),
            stderr: stderr.text(),
            stdout_truncated: result.stdout_truncated || stdout.truncated,
            stderr_truncated: result.stderr_truncated || stderr.truncated,
          });
        },
        onFail: (error) => {
          settle();
          reject(error);
        },
      }, { deadlineMs: deadlineFor(request.timeout_ms ?? AGENT_DEFAULT_TIMEOUT_MS) });
    } catch (error) {
      reject(error);
      return;
    }
    if (options.onSignaller) {
      const send = (name: SignalName): void => {
        if (!stream.done) stream.control({ op: "signal", signal: name });
      };
      try {
        options.onSignaller(send);
      } catch {
        // A throwing callback must not break the session.
      }
    }
    if (signal) {
      onAbort = () => stream.control({ op: "signal", signal: options.abortSignal ?? "KILL" });
      signal.addEventListener("abort", onAbort, { once: true });
    }
    if (options.stdin !== undefined) {
      feedStdin(stream, options.stdin).catch((error: unknown) => {
        stdinError = error;
        stream.stdinEnd().catch(() => undefined);
      });
    }
  });
}

/** Send a stdin source as STDIN frames, then end of file. */
async function feedStdin(stream: OpenStream, source: NonNullable<ExecOptions["stdin"]>): Promise<void> {
  if (typeof source === "string" || source instanceof Uint8Array) {
    await stream.stdin(typeof source === "string" ? Buffer.from(source, "utf8") : source);
  } else {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      if (stream.done) return;
      await stream.stdin(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
    }
  }
  await stream.stdinEnd();
}
