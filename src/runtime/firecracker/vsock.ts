import { createConnection, type Socket } from "node:net";
import { PyroError } from "../../util/errors.js";
import { VSOCK_HANDSHAKE_TIMEOUT_MS, VSOCK_MAX_ANSWER_BYTES } from "./constants.js";

/** Options of {@link connectVsock}. */
export interface VsockConnectOptions {
  /** Deadline for connecting and reading the `OK` line (default {@link VSOCK_HANDSHAKE_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * Open a host-initiated connection to guest vsock `port` through Firecracker's
 * Unix socket `udsPath`: write `CONNECT <port>\n`, read `OK <hostport>\n`.
 * Resolves with the socket, paused, positioned at the first protocol byte
 * (anything the guest sent after the OK line is pushed back, not lost).
 *
 * Fails with `guest_failure` when nothing listens (Firecracker closes the
 * connection) or the answer is garbage, `timeout` when no answer comes, and
 * `unavailable` when the socket file is missing or refuses connections.
 */
export function connectVsock(udsPath: string, port: number, options: VsockConnectOptions = {}): Promise<Socket> {
  const timeoutMs = options.timeoutMs ?? VSOCK_HANDSHAKE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: udsPath });
    let answer = Buffer.alloc(0);
    let settled = false;

    const finish = (error: PyroError | undefined, rest?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off("readable", onReadable);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      if (error) {
        socket.destroy();
        reject(error);
        return;
      }
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };

    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!settled && (chunk = socket.read() as Buffer | null) !== null) {
        answer = Buffer.concat([answer, chunk]);
        const newline = answer.indexOf(0x0a);
        if (newline < 0) {
          if (answer.length > VSOCK_MAX_ANSWER_BYTES) finish(garbage(udsPath, port, answer));
          continue;
        }
        const line = answer.subarray(0, newline).toString("latin1");
        if (!/^OK \d+$/.test(line)) {
          finish(garbage(udsPath, port, answer.subarray(0, newline)));
          return;
        }
        finish(undefined, answer.subarray(newline + 1));
      }
    };

    const onEnd = (): void => {
      finish(
        new PyroError(
          "guest_failure",
          `nothing in the guest accepted vsock port ${port}: firecracker closed the connection on ${udsPath}`,
          {
            hint: "the guest agent is not (yet) listening; it may still be booting, or it failed to start — see console.log in the VM directory",
            details: { uds_path: udsPath, port, reason: "refused" },
          },
        ),
      );
    };

    const onError = (error: NodeJS.ErrnoException): void => {
      const missing = error.code === "ENOENT" || error.code === "ECONNREFUSED";
      finish(
        new PyroError(
          missing ? "unavailable" : "guest_failure",
          missing
            ? `firecracker vsock socket ${udsPath} is not accepting connections (${error.code})`
            : `vsock connection to port ${port} failed: ${error.message}`,
          {
            hint: missing
              ? "the firecracker process is not running or its vsock device is not configured yet"
              : "see console.log and firecracker.log in the VM directory",
            details: { uds_path: udsPath, port, ...(error.code ? { errno: error.code } : {}) },
            cause: error,
          },
        ),
      );
    };

    const timer = setTimeout(() => {
      finish(
        new PyroError("timeout", `no answer to CONNECT ${port} on ${udsPath} within ${timeoutMs} ms`, {
          hint: "the guest or firecracker is unresponsive; check console.log in the VM directory",
          details: { uds_path: udsPath, port, timeout_ms: timeoutMs },
        }),
      );
    }, timeoutMs);

    socket.once("connect", () => socket.write(`CONNECT ${port}\n`));
    socket.on("readable", onReadable);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onError);
  });
}

function garbage(udsPath: string, port: number, answer: Buffer): PyroError {
  const shown = JSON.stringify(answer.subarray(0, VSOCK_MAX_ANSWER_BYTES).toString("latin1"));
  return new PyroError("guest_failure", `unexpected answer to CONNECT ${port} on ${udsPath}: ${shown}`, {
    hint: "the socket does not speak Firecracker's vsock handshake; check that uds_path belongs to a firecracker vsock device",
    details: { uds_path: udsPath, port, reason: "garbage" },
  });
}
