import type { Pyro } from "../sdk/index.js";
import { LIMITS, type McpProfile } from "../contract/index.js";
import { LineTransport } from "./line-transport.js";
import { startBackgroundReaper } from "./reaper.js";
import { createServer } from "./server.js";

/**
 * Serve MCP (the tools of `options.profile`, default workspace-full) on stdin/stdout until the client closes the connection or the
 * process is asked to stop (SIGTERM, SIGINT): either way the process then
 * exits normally, so what it tied to itself (warm spares) is cleaned up.
 * A message over {@link LIMITS.mcp_message_bytes} is answered with an error
 * and skipped; the session goes on. Problems are logged on stderr, never stdout.
 * Meanwhile it reaps expired VMs and workspaces in the background
 * (`pyro.config.reapIntervalMs`: `PYRO_REAP_INTERVAL_SECONDS`, default 60, 0 = off).
 */
export async function serveMcpOverStdio(pyro: Pyro, options: { profile?: McpProfile } = {}): Promise<void> {
  const server = createServer({ pyro, ...(options.profile ? { profile: options.profile } : {}) });
  server.server.onerror = (error) => process.stderr.write(`[mcp] ${error.message}\n`);
  const transport = new LineTransport(process.stdin, process.stdout, LIMITS.mcp_message_bytes);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  await server.connect(transport);
  const interval = pyro.config.reapIntervalMs;
  const stopReaping = interval === null ? () => undefined : startBackgroundReaper(pyro, interval, (line) => process.stderr.write(line));
  await closed;
  stopReaping();
  await server.close();
}
