import { createServer } from "node:net";
import { LIMITS } from "../contract/index.js";
import { PyroError } from "../util/errors.js";

/** The host ports pyro publishes on: never a privileged one (as the original, 1025–65535). */
export const HOST_PORT_RANGE = LIMITS.published_host_port;

/** How often an automatic pick is retried when another process takes the port first. */
export const AUTO_PORT_ATTEMPTS = 5;

/**
 * Bind `127.0.0.1:port` in this process's network namespace (the one the
 * user-mode stacks bind in) and release it at once. Resolves with the port
 * bound (the kernel's pick for 0), or null when it is taken (EADDRINUSE).
 */
function probe(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(null) : reject(error)));
    // exclusive: a port some other process of ours holds through the cluster module still counts as taken.
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/** Whether nothing listens on `127.0.0.1:port` of the host right now. */
export async function hostPortFree(port: number): Promise<boolean> {
  return (await probe(port)) !== null;
}

/**
 * A port that is free on the host's 127.0.0.1 right now, in
 * {@link HOST_PORT_RANGE}: the kernel's pick for port 0. Someone may take it
 * before the stack binds it; callers retry on {@link portInUse}.
 */
export async function freeHostPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await probe(0);
    // The kernel picks from ip_local_port_range, which an administrator may have set below 1025.
    if (port !== null && port >= HOST_PORT_RANGE.min) return port;
  }
  throw new PyroError("unavailable", "found no free port on 127.0.0.1 to publish on", {
    hint: "free some local ports, or name a host port with --publish HOST:GUEST",
  });
}

/** The error for a host port that something already listens on. */
export function portInUse(port: number): PyroError {
  return new PyroError("already_exists", `port ${port} is in use on 127.0.0.1; pick another or omit HOST to let pyro pick`, {
    hint: `--publish GUEST_PORT (published_ports: [{"guest_port": N}]) publishes on a free host port and reports it`,
    details: { host_port: port },
  });
}

/**
 * Re-forwarding the ports a machine published, at its start: a port another
 * program took while the machine was stopped is said as such; any other
 * failure is rethrown as it is.
 */
export async function reforward(ports: readonly { host_port: number }[], forward: (port: number) => Promise<void>): Promise<void> {
  for (const { host_port: port } of ports) {
    try {
      await forward(port);
    } catch (error) {
      if (!(error instanceof PyroError && error.code === "already_exists")) throw error;
      throw new PyroError("already_exists", `port ${port}, which this workspace publishes, is now in use on 127.0.0.1 by another program`, {
        hint: "stop that program and start the workspace again, or delete the workspace",
        details: { host_port: port },
      });
    }
  }
}
