import { chmod } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import { acquireLock } from "../../util/lock.js";
import { PyroError } from "../../util/errors.js";

/** Options of {@link openAgentPort}. */
export interface OpenPortOptions {
  /** How long to wait for a free port when all are held (default 30 s). */
  timeoutMs?: number;
  /** Called while the machine is checked between retries; throw to give up (e.g. QEMU died). */
  check?: () => void;
}

/**
 * Take a free agent port and connect to its socket. Each port has a lock file
 * (created exclusively, holding this process's pid and start time); a lock
 * left by a dead process is broken and reused. The lock is released when the
 * returned socket closes. A QEMU chardev serves one client at a time, so the
 * lock is what lets up to N host processes talk to one agent concurrently.
 */
export async function openAgentPort(sockets: readonly string[], locks: readonly string[], options: OpenPortOptions = {}): Promise<{ socket: Socket; port: number }> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    for (let port = 0; port < sockets.length; port++) {
      const release = await tryLock(locks[port]!);
      if (!release) continue;
      try {
        const socket = await connectUnix(sockets[port]!);
        socket.once("close", () => void release());
        return { socket, port };
      } catch (error) {
        await release();
        throw error;
      }
    }
    options.check?.();
    if (Date.now() >= deadline) {
      throw new PyroError("busy", `all ${sockets.length} agent ports of this machine are in use`, {
        hint: `at most ${sockets.length} processes can talk to one machine at once; wait for one to finish`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function tryLock(path: string): Promise<(() => Promise<void>) | undefined> {
  try {
    const release = await acquireLock(path, { timeoutMs: 0 });
    await chmod(path, 0o600).catch(() => undefined);
    return release;
  } catch (error) {
    if (error instanceof PyroError && error.code === "busy") return undefined;
    throw error;
  }
}

function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException): void => {
      socket.destroy();
      reject(
        new PyroError("unavailable", `cannot connect to agent socket ${path}: ${error.code ?? error.message}`, {
          hint: "the machine's QEMU process is not running; start the machine again",
          details: { socket: path },
          cause: error,
        }),
      );
    };
    socket.once("error", onError);
  });
}
