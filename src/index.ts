/**
 * pyro-mcp: isolated command execution and persistent, disposable workspaces
 * for coding agents, inside microVMs.
 *
 * @example
 * import { Pyro, createServer } from "pyro-mcp";
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { createServer } from "./mcp/index.js";
import { Pyro as SdkPyro } from "./sdk/index.js";
import type { McpProfile } from "./sdk/index.js";

/**
 * The pyro SDK (see the SDK layer's `Pyro`), plus {@link Pyro.createServer}:
 * the SDK layer cannot import the MCP face, so the package entry joins them
 * in this subclass.
 *
 * @example
 * await using pyro = new Pyro();
 * const result = await pyro.runInVm({ environment: "debian:12", command: "git --version" });
 */
export class Pyro extends SdkPyro {
  /**
   * An MCP server backed by this instance, serving the tools of `profile`
   * (default `workspace-full`: every tool; `workspace-core` for chat hosts;
   * `vm-run`).
   */
  createServer(options: { profile?: McpProfile } = {}): McpServer {
    return createServer({ pyro: this, ...options });
  }
}

export { createServer };
export { serveMcpOverStdio, mcpTools, mcpToolDefinitions } from "./mcp/index.js";
export { OPERATIONS, OPERATION_NAMES, DEFAULTS, LIMITS, PyroError, ERROR_CODES } from "./sdk/index.js";
export { MCP_PROFILES, DEFAULT_MCP_PROFILE } from "./sdk/index.js";
export type { McpProfile } from "./sdk/index.js";
export type { PyroOptions, PyroMethods, OperationName, OperationInput, OperationResult, ErrorCode } from "./sdk/index.js";
export { BACKEND_NAMES, EXECUTION_MODES, NETWORK_POLICIES } from "./sdk/index.js";
export type { BackendName, ExecutionMode, NetworkPolicy } from "./sdk/index.js";
export { STREAMING_OPERATIONS } from "./sdk/index.js";
export type { CallOptions, CommandCallOptions, CreateCallOptions, RunningCommand, StreamingOperation } from "./sdk/index.js";
