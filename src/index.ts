/**
 * pyro-mcp: isolated command execution and persistent, disposable workspaces
 * for coding agents, inside microVMs.
 *
 * @example
 * import { Pyro, createServer } from "pyro-mcp";
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { createServer } from "./mcp/index.js";
import { Pyro } from "./sdk/index.js";

declare module "./sdk/pyro.js" {
  interface Pyro {
    /** An MCP server exposing every pyro tool, backed by this instance. */
    createServer(): McpServer;
  }
}

// The SDK layer cannot import the MCP face; the package entry joins them.
Pyro.prototype.createServer = function createServerForPyro(this: Pyro): McpServer {
  return createServer({ pyro: this });
};

export { Pyro, createServer };
export { serveMcpOverStdio, mcpTools } from "./mcp/index.js";
export { OPERATIONS, OPERATION_NAMES, DEFAULTS, LIMITS, PyroError, ERROR_CODES } from "./sdk/index.js";
export type { PyroOptions, PyroMethods, OperationName, OperationInput, OperationResult, ErrorCode } from "./sdk/index.js";
