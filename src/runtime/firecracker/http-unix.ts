import { request } from "node:http";
import { PyroError } from "../../util/errors.js";

/** One HTTP answer read off a Unix socket. */
export interface UnixHttpResponse {
  status: number;
  body: string;
}

/** Options of {@link unixHttpRequest}. */
export interface UnixHttpRequestOptions {
  socketPath: string;
  method: "GET" | "PUT" | "PATCH";
  path: string;
  /** JSON body; omitted for GET. */
  body?: unknown;
  timeoutMs: number;
}

/**
 * Send one HTTP/1.1 request over a Unix socket and read the whole answer.
 * Transport failures (no socket, refused, timeout) become PyroErrors; HTTP
 * error statuses are returned to the caller.
 */
export function unixHttpRequest(options: UnixHttpRequestOptions): Promise<UnixHttpResponse> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), "utf8");
  const what = `${options.method} ${options.path}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: options.socketPath,
        method: options.method,
        path: options.path,
        agent: false,
        headers: {
          Accept: "application/json",
          ...(payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", (error) => reject(transportError(what, options.socketPath, error)));
      },
    );
    req.setTimeout(options.timeoutMs, () => {
      req.destroy(
        new PyroError("timeout", `firecracker API ${what} did not answer within ${options.timeoutMs} ms`, {
          hint: "the firecracker process may be hung; check its log in the VM directory, then kill it",
          details: { socket: options.socketPath },
        }),
      );
    });
    req.on("error", (error) => reject(transportError(what, options.socketPath, error)));
    if (payload) req.write(payload);
    req.end();
  });
}

function transportError(what: string, socketPath: string, error: unknown): PyroError {
  if (error instanceof PyroError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  const gone = code === "ENOENT" || code === "ECONNREFUSED";
  return new PyroError(
    "guest_failure",
    gone
      ? `firecracker API socket ${socketPath} is not accepting connections (${code}) for ${what}`
      : `firecracker API ${what} failed: ${message}`,
    {
      hint: gone
        ? "the firecracker process is not running (it may have crashed); see firecracker.stderr.log and console.log in the VM directory"
        : "check the firecracker log in the VM directory",
      details: { socket: socketPath, ...(code ? { errno: code } : {}) },
      cause: error,
    },
  );
}
