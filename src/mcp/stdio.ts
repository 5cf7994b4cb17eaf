import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Pyro } from "../sdk/index.js";
import { reapIntervalMs, startBackgroundReaper } from "./reaper.js";
import { createServer } from "./server.js";

/**
 * Serve MCP on stdin/stdout until the client closes the connection or the
 * process is asked to stop (SIGTERM, SIGINT): either way the process then
 * exits normally, so what it tied to itself (warm spares) is cleaned up.
 * Meanwhile it reaps expired VMs and workspaces in the background
 * (`PYRO_REAP_INTERVAL_SECONDS`, default 60, 0 = off).
 */
export async function serveMcpOverStdio(pyro: Pyro): Promise<void> {
  const server = createServer({ pyro });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once("end", () => resolve());
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  await server.connect(transport);
  const interval = reapIntervalMs(process.env);
  const stopReaping = interval === null ? () => undefined : startBackgroundReaper(pyro, interval, (line) => process.stderr.write(line));
  await closed;
  stopReaping();
  await server.close();
}
