import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { OPERATIONS, OPERATION_NAMES, Pyro, toPyroError, type OperationName } from "../sdk/index.js";
import { packageVersion } from "../contract/index.js";

/** MCP tool name → SDK operation, for every operation CONTRACT.md gives a tool. */
export function mcpTools(): Array<{ tool: string; operation: OperationName }> {
  return OPERATION_NAMES.flatMap((operation) => {
    const tool = OPERATIONS[operation].mcp;
    return tool ? [{ tool, operation }] : [];
  });
}

/** A failure as an MCP tool error: the server stays up, the model reads what to fix. */
function toolError(error: unknown): CallToolResult {
  const pyroError = toPyroError(error);
  return {
    isError: true,
    content: [{ type: "text", text: `${pyroError.code}: ${pyroError.describe()}` }],
  };
}

/**
 * An MCP server exposing every pyro tool. Each tool's input and output schema
 * is its operation's zod schema; results come back both as structured content
 * and as JSON text for clients that read only text.
 */
export function createServer(options: { pyro?: Pyro } = {}): McpServer {
  const pyro = options.pyro ?? new Pyro();
  const server = new McpServer({ name: "pyro-mcp", version: packageVersion() });
  for (const { tool, operation } of mcpTools()) {
    const spec = OPERATIONS[operation];
    server.registerTool(
      tool,
      {
        description: spec.summary,
        inputSchema: spec.input,
        outputSchema: spec.result as never,
      },
      async (args: unknown): Promise<CallToolResult> => {
        try {
          const result = (await pyro.call(operation, args)) as Record<string, unknown>;
          return { content: [{ type: "text", text: JSON.stringify(result, null, 2) }], structuredContent: result };
        } catch (error) {
          return toolError(error);
        }
      },
    );
  }
  return server;
}
