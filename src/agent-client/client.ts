import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import {
  FrameDecoder,
  FrameKind,
  HEADER_SIZE,
  MAX_PAYLOAD,
  MAX_STREAM_ID,
  PROTOCOL_VERSION,
  SYNC_MARKER,
  encodeControl,
  encodeFrame,
  type ControlMessage,
  type Frame,
} from "../protocol/index.js";
import { PyroError } from "../util/errors.js";
import type { Readable } from "node:stream";
import type { ArchiveResult, ExecRequest } from "../protocol/index.js";
import { runGetArchive, runPutArchive } from "./archive.js";
import { agentError, connectionLost } from "./errors.js";
import { agentTimeout, DEFAULT_STALL_MS, RequestWatch, type RequestBounds } from "./deadline.js";
import { runExec, type ExecOptions, type ExecResult } from "./exec.js";
import { HelloScanner, checkHello, type AgentHello } from "./hello.js";

/** Options of {@link AgentClient.connect}. */
export interface ConnectOptions {
  /** How long to wait for the agent's hello. */
  helloTimeoutMs: number;
  /** Refuse agents older than this protocol version (default: this host's version). */
  minProtocolVersion?: number;
  /** Sent in the hello, for the agent's logs. */
  clientName?: string;
  /**
   * For transports whose byte stream outlives sessions (a virtio-serial port):
   * when the hello is unanswered after this long, flush a stale half frame the
   * agent may still be reading and say hello again (protocol/SPEC.md, "Session
   * start"). Never set it on a fresh socket: the flush ends a live session.
   */
  resyncAfterMs?: number;
  /**
   * How long a request without a deadline of its own may go without progress
   * before the session is torn down (default {@link DEFAULT_STALL_MS}).
   */
  stallMs?: number;
}

/** One maximal frame of zeros: completes any stale frame, then fails as a header (kind 0). */
const FLUSH = Buffer.alloc(HEADER_SIZE + MAX_PAYLOAD);

/**
 * What a request's stream receives. Exactly one of `onFinal` or `onFail` is
 * called, once; nothing is called after it.
 */
export interface StreamHandler {
  /** STDOUT or STDERR bytes (an empty payload is end of file). */
  onData?(kind: FrameKind, payload: Buffer): void;
  /** A `{"type":"event"}` message. */
  onEvent?(message: ControlMessage): void;
  /** The final `result` or `error` message. */
  onFinal(message: ControlMessage): void;
  /** The connection died, or the client was closed, before the final message. */
  onFail(error: PyroError): void;
}

/** A request in flight, as {@link AgentClient.open} returns it. */
export interface OpenStream {
  /** The stream id. */
  readonly id: number;
  /** Whether the final message arrived (or the connection died). */
  readonly done: boolean;
  /** Send a CONTROL message on this stream (signal, resize). Ignored once done. */
  control(message: ControlMessage): void;
  /** Send STDIN bytes, split into frames, waiting for the transport to drain. */
  stdin(data: Uint8Array): Promise<void>;
  /** Send the empty STDIN frame: end of file. */
  stdinEnd(): Promise<void>;
}

/** Largest STDIN frame the client sends: small frames keep other streams flowing. */
const STDIN_CHUNK = 256 * 1024;

interface StreamState {
  op: string;
  handler: StreamHandler;
  done: boolean;
  /** The request's host-side bound (see deadline.ts). */
  watch: RequestWatch;
}

const DEFAULT_HINT_OLD_AGENT =
  "the environment was built for an older pyro; re-pull it (`pyro env pull <environment>`) so its guest agent matches";

/**
 * One protocol session with a guest agent over a byte stream (protocol/SPEC.md).
 * Requests are multiplexed on stream ids counting up from 1. Every byte read
 * from the guest is bounded: frames by the decoder, outputs by the callers'
 * limits.
 */
export class AgentClient {
  /** The agent's hello. */
  readonly hello: AgentHello;

  private readonly stream: Duplex;
  private readonly decoder: FrameDecoder;
  private readonly streams = new Map<number, StreamState>();
  private nextId = 1;
  private failure: PyroError | null = null;
  private drainWaiters: Array<{ resolve: () => void; reject: (e: PyroError) => void }> = [];
  private pauses = 0;
  private readonly stallMs: number;

  private constructor(stream: Duplex, hello: AgentHello, stallMs: number) {
    this.stream = stream;
    this.hello = hello;
    this.stallMs = stallMs;
    this.decoder = new FrameDecoder((frame) => this.dispatch(frame));
  }

  /**
   * Start a session on `stream`: write `PYROSYNC` and a hello with a random
   * nonce, skip whatever the transport delivers before the agent's matching
   * answer, and check the agent's protocol version.
   *
   * @throws PyroError `guest_failure` when the agent does not answer within
   *   `helloTimeoutMs`, closes the stream, or is too old; `details.agent_answered`
   *   tells the last (an agent is there, retrying will not help) from the others.
   */
  static connect(stream: Duplex, options: ConnectOptions): Promise<AgentClient> {
    const minVersion = options.minProtocolVersion ?? PROTOCOL_VERSION;
    const sayHello = (prefix: Buffer[]): HelloScanner => {
      // A fresh nonce per attempt: a late answer to an earlier hello belongs to a session the flush ended.
      const nonce = randomBytes(16).toString("hex");
      const hello = encodeControl(0, { op: "hello", protocol_version: PROTOCOL_VERSION, nonce, client: options.clientName ?? "pyro-mcp" });
      stream.write(Buffer.concat([...prefix, SYNC_MARKER, hello]));
      return new HelloScanner(nonce);
    };
    return new Promise<AgentClient>((resolve, reject) => {
      let settled = false;
      let scanner: HelloScanner;
      const cleanup = (): void => {
        settled = true;
        clearTimeout(timer);
        clearTimeout(resync);
        stream.off("data", onData);
        stream.off("error", onClosed);
        stream.off("close", onClosed);
        stream.off("end", onClosed);
      };
      const fail = (error: PyroError): void => {
        if (settled) return;
        cleanup();
        stream.destroy();
        reject(error);
      };
      const onClosed = (cause?: unknown): void =>
        fail(
          new PyroError("guest_failure", "the guest agent connection closed before the agent said hello", {
            hint: "the machine may have failed to boot or its agent crashed; check its console log",
            details: { agent_answered: false },
            ...(cause instanceof Error ? { cause } : {}),
          }),
        );
      const onData = (chunk: Buffer): void => {
        if (settled) return;
        const found = scanner.push(chunk);
        if (found === null) return;
        const hello = checkHello(found.hello);
        if (hello === null) {
          fail(new PyroError("guest_failure", "the guest agent sent a malformed hello", { hint: DEFAULT_HINT_OLD_AGENT, details: { agent_answered: true } }));
          return;
        }
        if (hello.protocol_version < minVersion) {
          fail(
            new PyroError(
              "guest_failure",
              `the guest agent speaks protocol version ${hello.protocol_version}, but this pyro needs at least ${minVersion}`,
              { hint: DEFAULT_HINT_OLD_AGENT, details: { agent_answered: true, agent_version: hello.agent_version } },
            ),
          );
          return;
        }
        // Hold further data until the client's own listener is attached.
        stream.pause();
        cleanup();
        const client = new AgentClient(stream, hello, options.stallMs ?? DEFAULT_STALL_MS);
        try {
          client.start(found.rest);
        } catch (error) {
          reject(error);
          return;
        }
        resolve(client);
      };
      const timer = setTimeout(
        () =>
          fail(
            new PyroError("guest_failure", `the guest agent did not answer within ${options.helloTimeoutMs} ms`, {
              hint: "the machine may still be booting, or its agent failed to start; check its console log",
              details: { agent_answered: false },
            }),
          ),
        options.helloTimeoutMs,
      );
      const resync =
        options.resyncAfterMs === undefined
          ? undefined
          : setTimeout(() => {
              if (!settled) scanner = sayHello([FLUSH]);
            }, options.resyncAfterMs);
      stream.on("data", onData);
      stream.on("error", onClosed);
      stream.on("close", onClosed);
      stream.on("end", onClosed);
      scanner = sayHello([]);
    });
  }

  /** Whether the agent listed `capability` in its hello. */
  has(capability: string): boolean {
    return this.hello.capabilities.includes(capability);
  }

  /** Whether the session is over (closed or failed). */
  get closed(): boolean {
    return this.failure !== null;
  }

  /**
   * Open a request: send `{op, ...body}` on a fresh stream and route what the
   * agent sends on it to `handler`. The building block of the typed methods.
   * Every request is bounded on this side (deadline.ts): by `bounds.deadlineMs`
   * when the request may stay silent for a known time, else by a stall
   * watchdog; past it the session is torn down and the request fails with
   * `timeout`.
   */
  open(op: string, body: Record<string, unknown>, handler: StreamHandler, bounds: RequestBounds = {}): OpenStream {
    if (this.failure) throw this.failure;
    if (this.nextId > MAX_STREAM_ID) throw new PyroError("guest_failure", "this agent connection used up its stream ids; reconnect");
    const id = this.nextId++;
    const watched: RequestBounds = bounds.deadlineMs !== undefined ? { deadlineMs: bounds.deadlineMs } : { stallMs: bounds.stallMs ?? this.stallMs };
    const state: StreamState = {
      op,
      handler,
      done: false,
      watch: new RequestWatch(
        watched,
        () => this.pauses > 0,
        (elapsed) => this.expire(state, agentTimeout(op, watched, elapsed)),
      ),
    };
    this.streams.set(id, state);
    this.stream.write(encodeControl(id, { ...body, op }));
    return {
      id,
      get done() {
        return state.done;
      },
      control: (message) => {
        if (!state.done && !this.failure) this.stream.write(encodeControl(id, message));
      },
      stdin: (data) => this.sendStdin(id, state, data),
      stdinEnd: () => this.writeFrame(encodeFrame(FrameKind.STDIN, id), state),
    };
  }

  /**
   * Send a request that answers with one `result` and resolve with it (its
   * fields, `type` included). Rejects with the mapped PyroError when the agent
   * answers `error`.
   */
  request<T extends ControlMessage = ControlMessage>(op: string, body: Record<string, unknown> = {}, bounds?: RequestBounds): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.open(
        op,
        body,
        {
          onFinal: (message) => (message.type === "result" ? resolve(message as T) : reject(agentError(op, message))),
          onFail: reject,
        },
        bounds,
      );
    });
  }

  /**
   * Run a process in the guest and collect its output. Output reaches the
   * callbacks as it arrives; the result keeps at most `maxBufferedBytes` of
   * each stream. A non-zero exit, a signal or a timeout is a result, not an
   * error; the promise rejects only when the agent refuses the request
   * (bad argv, missing cwd…) or the connection dies.
   */
  exec(request: ExecRequest, options: ExecOptions): Promise<ExecResult> {
    return runExec(this, request, options);
  }

  /**
   * Upload a tar stream and extract it under `dest` in the guest. Rejects
   * with `limit_exceeded` once `source` yields more than `maxBytes`.
   */
  putArchive(dest: string, source: Readable | AsyncIterable<Uint8Array | string>, maxBytes: number, owner?: { uid: number; gid: number }): Promise<ArchiveResult> {
    return runPutArchive(this, dest, source, maxBytes, owner);
  }

  /**
   * Download `path` from the guest as a tar stream into `sink`, then end the
   * sink and wait for it to finish. Rejects with `limit_exceeded` when the
   * guest sends more than `maxBytes`; on any failure the sink is destroyed
   * (without an error event: the rejection carries the error).
   */
  getArchive(path: string, sink: NodeJS.WritableStream, maxBytes: number): Promise<ArchiveResult> {
    return runGetArchive(this, path, sink, maxBytes);
  }

  /** Round trip to the agent. */
  async ping(): Promise<void> {
    await this.request("ping");
  }

  /**
   * Stop reading from the transport until {@link resume} (used to push back
   * on the guest when a sink is slow). Calls nest.
   */
  pause(): void {
    if (this.pauses++ === 0) this.stream.pause();
  }

  /** Undo one {@link pause}. */
  resume(): void {
    if (this.pauses > 0 && --this.pauses === 0 && !this.failure) {
      // The hold ends now: stall time counts from here, not from the last frame before it.
      for (const state of this.streams.values()) state.watch.progress();
      this.stream.resume();
    }
  }

  /**
   * End the session: pending requests reject with a `guest_failure`, the
   * agent sees the disconnect and kills this session's execs.
   */
  async close(): Promise<void> {
    if (this.failure) return;
    this.fail((op) => new PyroError("guest_failure", `the agent connection was closed by the host while ${op} was running`), false);
    await new Promise<void>((resolve) => {
      if (this.stream.destroyed) return resolve();
      this.stream.once("close", () => resolve());
      this.stream.end(() => this.stream.destroy());
      setTimeout(() => this.stream.destroy(), 1000).unref();
    });
  }

  private start(rest: Buffer): void {
    this.stream.on("data", (chunk: Buffer) => this.onData(chunk));
    this.stream.on("drain", () => this.flushDrainWaiters());
    this.stream.on("error", (error: Error) => this.fail((op) => connectionLost(op, error)));
    this.stream.on("end", () => this.fail((op) => connectionLost(op)));
    this.stream.on("close", () => this.fail((op) => connectionLost(op)));
    if (rest.length > 0) this.onData(rest);
    if (!this.failure) this.stream.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    try {
      this.decoder.push(chunk);
    } catch (error) {
      // A ProtocolViolation says what the guest did wrong; anything else was
      // thrown by a handler, which is a bug on this side.
      this.fail((op) => (error instanceof PyroError ? error : connectionLost(op, error)));
    }
  }

  private dispatch(frame: Frame): void {
    const state = this.streams.get(frame.stream);
    // Frames for unknown or finished streams (and stream 0 after hello) are
    // dropped: nothing from the guest accumulates without an owner.
    if (state === undefined) return;
    state.watch.progress();
    if (frame.kind === FrameKind.CONTROL) {
      const message = frame.control ?? {};
      if (message.type === "event") {
        state.handler.onEvent?.(message);
      } else if (message.type === "result" || message.type === "error") {
        state.done = true;
        state.watch.stop();
        this.streams.delete(frame.stream);
        state.handler.onFinal(message);
      }
      return;
    }
    if (frame.kind === FrameKind.STDOUT || frame.kind === FrameKind.STDERR) state.handler.onData?.(frame.kind, frame.payload);
  }

  private async sendStdin(id: number, state: StreamState, data: Uint8Array): Promise<void> {
    for (let offset = 0; offset < data.length && !state.done; offset += STDIN_CHUNK) {
      await this.writeFrame(encodeFrame(FrameKind.STDIN, id, data.subarray(offset, offset + STDIN_CHUNK)), state);
    }
  }

  /** Write one frame; wait for 'drain' when the transport's buffer is full. */
  private writeFrame(frame: Buffer, state: StreamState): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (state.done) return Promise.resolve();
    if (this.stream.write(frame)) {
      state.watch.progress();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) =>
      this.drainWaiters.push({
        resolve: () => {
          state.watch.progress();
          resolve();
        },
        reject,
      }),
    );
  }

  private flushDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /**
   * A request's host-side bound passed: tear the session down. The request
   * rejects with `error`; others pending on the session learn why it ended.
   */
  private expire(expired: StreamState, error: PyroError): void {
    this.fail(
      (op, state) =>
        state === undefined || state === expired
          ? error
          : new PyroError("timeout", `the agent session was torn down while ${op} was running: ${error.message}`, { hint: error.hint, cause: error }),
    );
  }

  /**
   * The session is over: reject everything pending, once. `errorFor` makes
   * the error of a pending request from its op (and its state).
   */
  private fail(errorFor: (op: string, state?: StreamState) => PyroError, destroy = true): void {
    if (this.failure) return;
    const first = errorFor("the session");
    this.failure = new PyroError("guest_failure", "the guest agent connection is closed", {
      hint: first.hint ?? "reconnect to the machine",
      cause: first,
    });
    const pending = [...this.streams.values()];
    this.streams.clear();
    for (const state of pending) {
      state.done = true;
      state.watch.stop();
      state.handler.onFail(errorFor(state.op, state));
    }
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.reject(this.failure);
    if (destroy) this.stream.destroy();
  }
}
