import type { IncomingMessage } from "node:http";

/** Receives a response body piece by piece; after `end` or `error` nothing more arrives. */
export interface BodySink {
  /** The next piece. Its memory may be reused once the call returns: consume it now. */
  data(chunk: Buffer): void;
  end(): void;
  error(error: Error): void;
}

/** A response body that is delivered once {@link BlobBody.start} is called. */
export interface BlobBody {
  start(sink: BodySink): void;
  /** Drop the body and its connection; the sink hears nothing more. */
  destroy(): void;
}

/** The answer to a blob GET: status and headers (lower-case names), the body not yet read. */
export interface BlobResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: BlobBody;
}

/** A `node:http(s)` response as a {@link BlobResponse}. */
export function fromIncomingMessage(response: IncomingMessage): BlobResponse {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(response.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  let done = false;
  const body: BlobBody = {
    start(sink) {
      const finish = (error?: Error): void => {
        if (done) return;
        done = true;
        if (error) sink.error(error);
        else sink.end();
      };
      response.on("data", (chunk: Buffer) => {
        if (!done) sink.data(chunk);
      });
      response.once("end", () => finish());
      response.on("error", (error) => finish(error));
      response.once("close", () => finish(new Error("connection closed before the end of the body")));
    },
    destroy() {
      done = true;
      response.destroy();
    },
  };
  return { statusCode: response.statusCode ?? 0, headers, body };
}

/**
 * Read all of a small body (a manifest, a config): more than `limit` bytes
 * fails with `tooLarge()`, a body not complete within `timeoutMs` with
 * `ETIMEDOUT`, a broken connection with its error.
 */
export function readBody(body: BlobBody, limit: number, timeoutMs: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error === undefined) return resolve(Buffer.concat(chunks, total));
      body.destroy();
      reject(error);
    };
    const timer = setTimeout(() => finish(Object.assign(new Error(`body not complete within ${timeoutMs} ms`), { code: "ETIMEDOUT" })), timeoutMs);
    body.start({
      data(chunk) {
        if (done) return;
        total += chunk.length;
        if (total > limit) return finish(tooLarge());
        // The chunk's memory may be reused: keep a copy.
        chunks.push(Buffer.from(chunk));
      },
      end: () => finish(),
      error: (error) => finish(error),
    });
  });
}
