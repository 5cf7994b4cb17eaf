import type { Readable, Writable } from "node:stream";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from "@modelcontextprotocol/sdk/types.js";

/** JSON-RPC 2.0 error codes used here. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
/** Bytes kept from each end of a skipped line, to find its request id. */
const EDGE_BYTES = 512;

const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
/** `{"jsonrpc":"2.0","id":7,…` or `{"id":7,…`: the id as the first or second key. */
const HEAD_ID = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*` + ID + String.raw`\s*[,}]`);
/** `…,"id":7}` closing the line: the id as the last key (how the MCP SDK's client writes requests). */
const TAIL_ID = new RegExp(String.raw`[,{]\s*"id"\s*:\s*` + ID + String.raw`\s*\}\s*$`);

/**
 * The request id of a line too long to parse, read from its ends; null when
 * neither end shows one (JSON-RPC then wants `id: null`).
 */
export function idOfSkippedLine(head: string, tail: string): RequestId | null {
  const match = HEAD_ID.exec(head) ?? TAIL_ID.exec(tail);
  if (!match) return null;
  try {
    return JSON.parse(match[1]!) as RequestId;
  } catch {
    return null;
  }
}

interface Skipping {
  head: Buffer;
  tail: Buffer;
  bytes: number;
}

/**
 * MCP over newline-delimited JSON on a pair of streams (stdin/stdout), like
 * the SDK's `StdioServerTransport`, but a line longer than `maxLineBytes`
 * does not end the session: it is skipped as it streams in (never held whole)
 * and answered with a JSON-RPC error carrying the request's id, and the next
 * line is read as usual. The SDK's transport closes itself on such a line and
 * leaves a server that answers nothing more (issue 22). Lines that are not
 * JSON or not JSON-RPC are answered with the JSON-RPC errors for them.
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping: Skipping | null = null;
  private started = false;
  private closed = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly maxLineBytes: number,
  ) {}

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      this.take(chunk.subarray(start, newline === -1 ? chunk.length : newline));
      if (newline === -1) return;
      this.endLine();
      start = newline + 1;
    }
  };

  private readonly onError = (error: Error): void => {
    this.onerror?.(error);
  };

  private readonly onEnd = (): void => {
    void this.close();
  };

  /** Start reading the input. */
  async start(): Promise<void> {
    if (this.started) throw new Error("LineTransport already started");
    this.started = true;
    this.input.on("data", this.onData);
    this.input.on("error", this.onError);
    this.input.on("end", this.onEnd);
  }

  /** Write one message as a line; resolves once the output accepted it. */
  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once("drain", resolve);
    });
  }

  /** Stop reading and report the close (once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off("data", this.onData);
    this.input.off("error", this.onError);
    this.input.off("end", this.onEnd);
    if (this.input.listenerCount("data") === 0) this.input.pause();
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = null;
    this.onclose?.();
  }

  /** Add part of the current line; past the bound, keep only its two ends. */
  private take(segment: Buffer): void {
    if (this.skipping) {
      this.skipping.bytes += segment.length;
      this.skipping.tail = lastBytes([this.skipping.tail, segment]);
      return;
    }
    if (this.pendingBytes + segment.length <= this.maxLineBytes) {
      this.pending.push(segment);
      this.pendingBytes += segment.length;
      return;
    }
    const parts = [...this.pending, segment];
    this.skipping = { head: firstBytes(parts), tail: lastBytes(parts), bytes: this.pendingBytes + segment.length };
    this.pending = [];
    this.pendingBytes = 0;
  }

  private endLine(): void {
    const skipped = this.skipping;
    if (skipped) {
      this.skipping = null;
      this.refuse(skipped);
      return;
    }
    const line = Buffer.concat(this.pending, this.pendingBytes).toString("utf8").replace(/\r$/, "");
    this.pending = [];
    this.pendingBytes = 0;
    if (line.trim() !== "") this.deliver(line);
  }

  private deliver(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.answerError(null, PARSE_ERROR, "Parse error: a line on stdin is not JSON; send one JSON-RPC message per line");
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      const id = (value as { id?: unknown } | null)?.id;
      this.answerError(typeof id === "string" || typeof id === "number" ? id : null, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message");
      return;
    }
    this.onmessage?.(parsed.data);
  }

  private refuse(skipped: Skipping): void {
    const id = idOfSkippedLine(skipped.head.toString("utf8"), skipped.tail.toString("utf8"));
    const message =
      `Invalid Request: a message of ${skipped.bytes} bytes is larger than the server's limit of ${this.maxLineBytes} bytes ` +
      `(${Math.round(this.maxLineBytes / 1024 / 1024)} MiB) and was skipped; pass large data as files (seed_path, workspace_sync_push), not in arguments`;
    this.answerError(id, INVALID_REQUEST, message, { bytes: skipped.bytes, limit: this.maxLineBytes });
  }

  private answerError(id: RequestId | null, code: number, message: string, data?: Record<string, unknown>): void {
    this.onerror?.(new Error(message));
    // `id: null` is what JSON-RPC 2.0 asks for when the id cannot be read; the SDK's types allow only ids.
    const response = { jsonrpc: "2.0", id, error: { code, message, ...(data ? { data } : {}) } } as unknown as JSONRPCMessage;
    this.send(response).catch((error: unknown) => this.onerror?.(error as Error));
  }
}

function firstBytes(parts: Buffer[]): Buffer {
  return Buffer.from(Buffer.concat(parts).subarray(0, EDGE_BYTES));
}

function lastBytes(parts: Buffer[]): Buffer {
  const joined = Buffer.concat(parts);
  return Buffer.from(joined.subarray(Math.max(0, joined.length - EDGE_BYTES)));
}
