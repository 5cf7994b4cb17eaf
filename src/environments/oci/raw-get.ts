import { connect, type Socket } from "node:net";
import type { BlobBody, BlobResponse, BodySink } from "./blob-body.js";

/*
 * An HTTP/1.1 GET over plain TCP that reads the socket into one reused buffer
 * (net's `onread`), for blob bodies from plain-HTTP (loopback) registries.
 * Measured on a 58 MiB blob from a loopback docker-registry: receiving through
 * node:http costs ~58 ms of CPU (a fresh 64 KiB buffer per read, the parser,
 * the stream machinery, GC), this path ~12 ms, about what the kernel's copy
 * costs. It frames bodies by Content-Length or the end of the connection only
 * (`Connection: close`); the caller falls back to node:http for chunked ones.
 */
const READ_BUFFER_BYTES = 1024 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;

function protocolError(message: string): Error {
  return Object.assign(new Error(message), { code: "EPROTO" });
}

/** Status and headers of one response head (`text` without its final blank line). */
function parseHead(text: string): { statusCode: number; headers: Record<string, string | undefined> } {
  const [statusLine = "", ...lines] = text.split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!match) throw protocolError(`not an HTTP/1.1 response: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers: Record<string, string | undefined> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw protocolError(`malformed response header ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { statusCode: Number(match[1]), headers };
}

/** The body after the head: `length` bytes, or everything up to the end of the connection. */
class RawBody implements BlobBody {
  private sink: BodySink | undefined;
  private done = false;
  /** How the connection ended while nobody listened yet. */
  private early: { error: Error | undefined } | undefined;

  constructor(
    private readonly socket: Socket,
    private remaining: number,
    private pending: Buffer,
  ) {}

  start(sink: BodySink): void {
    this.sink = sink;
    if (this.pending.length > 0) this.deliver(this.pending);
    this.pending = Buffer.alloc(0);
    if (this.done) return;
    if (this.early) this.ended(this.early.error);
    else if (this.remaining === 0) this.finish();
    else this.socket.resume();
  }

  /** Called with each read; `false` pauses the socket (nobody listens yet). */
  deliver(chunk: Buffer): boolean {
    if (this.done) return false;
    if (!this.sink) {
      this.pending = Buffer.concat([this.pending, chunk]);
      return false;
    }
    const piece = chunk.length > this.remaining ? chunk.subarray(0, this.remaining) : chunk;
    this.remaining -= piece.length;
    this.sink.data(piece);
    if (this.remaining === 0) this.finish();
    return true;
  }

  /** The connection ended (`error` undefined: cleanly). */
  ended(error: Error | undefined): void {
    if (this.done) return;
    if (!this.sink) {
      this.early ??= { error };
      return;
    }
    if (error === undefined && this.remaining === Infinity) return this.finish();
    this.done = true;
    this.sink.error(error ?? new Error("connection closed before the end of the body"));
  }

  private finish(): void {
    this.done = true;
    this.socket.destroy();
    this.sink?.end();
  }

  destroy(): void {
    this.done = true;
    this.socket.destroy();
  }
}

/**
 * GET `url` (http:) and resolve once the response head arrived (within
 * `timeoutMs`), the body paused until started. Header values with line breaks
 * are refused. Fails with Node's socket errors, `ETIMEDOUT` or `EPROTO`.
 */
export function rawGet(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<BlobResponse> {
  return new Promise((resolve, reject) => {
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, "connection: close"];
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(name + value)) {
        reject(Object.assign(new TypeError(`invalid character in header ${name}`), { code: "ERR_INVALID_CHAR" }));
        return;
      }
      lines.push(`${name}: ${value}`);
    }
    let head = Buffer.alloc(0);
    let body: RawBody | undefined;
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onRead = (chunk: Buffer): boolean => {
      if (body) return body.deliver(chunk);
      // The read buffer is reused: keep a copy of the head's bytes.
      head = Buffer.concat([head, chunk]);
      for (;;) {
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) {
          if (head.length > MAX_HEAD_BYTES) fail(protocolError(`response head larger than ${MAX_HEAD_BYTES} bytes`));
          return true;
        }
        let parsed: ReturnType<typeof parseHead>;
        try {
          parsed = parseHead(head.toString("latin1", 0, end));
        } catch (error) {
          fail(error as Error);
          return false;
        }
        head = head.subarray(end + 4);
        // An interim (1xx) head is followed by the real one.
        if (parsed.statusCode < 200) continue;
        const declared = parsed.headers["content-length"];
        if (declared !== undefined && !/^\d+$/.test(declared)) {
          fail(protocolError(`invalid Content-Length ${JSON.stringify(declared)}`));
          return false;
        }
        const length = parsed.statusCode === 204 || parsed.statusCode === 304 ? 0 : declared === undefined ? Infinity : Number(declared);
        body = new RawBody(socket, length, head);
        clearTimeout(timer);
        resolve({ ...parsed, body });
        return false;
      }
    };
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket = connect({
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: Number(url.port || 80),
      onread: { buffer: readBuffer, callback: (bytes) => onRead(readBuffer.subarray(0, bytes)) },
    });
    const timer = setTimeout(() => fail(Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: "ETIMEDOUT" })), timeoutMs);
    // No half-close after the request: some servers take it for a client that went away.
    socket.once("connect", () => socket.write(`${lines.join("\r\n")}\r\n\r\n`));
    socket.on("error", (error) => (body ? body.ended(error) : fail(error)));
    socket.once("end", () => (body ? body.ended(undefined) : fail(Object.assign(new Error("connection closed before the response head"), { code: "ECONNRESET" }))));
    socket.once("close", () => (body ? body.ended(new Error("connection closed before the end of the body")) : fail(Object.assign(new Error("connection closed before the response head"), { code: "ECONNRESET" }))));
  });
}
