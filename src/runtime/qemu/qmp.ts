import { createConnection } from "node:net";
import { PyroError } from "../../util/errors.js";

/** Bound on one QMP line from QEMU; replies pyro asks for are tiny. */
const MAX_LINE = 1 << 20;

/**
 * Run one QMP command on QEMU's control socket: read the greeting, negotiate
 * capabilities, send `command`, resolve with its `return` value. Events are
 * skipped. `quit` may see the socket close instead of a reply; that counts as
 * success. Rejects with `timeout` or `guest_failure` PyroErrors.
 */
export function qmpCommand(socketPath: string, command: string, args?: Record<string, unknown>, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath });
    let buffered = "";
    let stage: "greeting" | "capabilities" | "command" = "greeting";
    let settled = false;
    const finish = (error: Error | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(
      () => finish(new PyroError("timeout", `QMP ${command} on ${socketPath} got no answer within ${timeoutMs} ms`, { hint: "QEMU is hung; kill it" })),
      timeoutMs,
    );
    const send = (message: Record<string, unknown>): void => {
      socket.write(`${JSON.stringify(message)}\r\n`);
    };
    const onMessage = (message: Record<string, unknown>): void => {
      if ("event" in message) return;
      if (stage === "greeting" && "QMP" in message) {
        stage = "capabilities";
        send({ execute: "qmp_capabilities" });
        return;
      }
      if ("error" in message) {
        const error = message.error as { class?: string; desc?: string };
        finish(new PyroError("guest_failure", `QMP ${command} failed: ${error.desc ?? error.class ?? "unknown error"}`, { hint: "see qemu.log in the VM directory" }));
        return;
      }
      if (stage === "capabilities" && "return" in message) {
        stage = "command";
        send({ execute: command, ...(args ? { arguments: args } : {}) });
        return;
      }
      if (stage === "command" && "return" in message) finish(undefined, message.return);
    };
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE) {
        finish(new PyroError("guest_failure", `QMP on ${socketPath} sent an over-long line`));
        return;
      }
      let newline: number;
      while (!settled && (newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line === "") continue;
        try {
          onMessage(JSON.parse(line) as Record<string, unknown>);
        } catch {
          finish(new PyroError("guest_failure", `QMP on ${socketPath} sent invalid JSON`));
        }
      }
    });
    socket.on("close", () => {
      if (stage === "command" && command === "quit") finish(undefined, {});
      else finish(new PyroError("guest_failure", `QMP socket ${socketPath} closed before ${command} answered`, { hint: "QEMU exited; see qemu.log in the VM directory" }));
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      finish(new PyroError("unavailable", `cannot reach QMP socket ${socketPath}: ${error.code ?? error.message}`, { hint: "QEMU is not running", cause: error }));
    });
  });
}
