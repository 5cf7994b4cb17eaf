import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { OPERATIONS, OPERATION_NAMES, Pyro, toPyroError, type OperationName } from "../sdk/index.js";
import { isStreamingOperation, packageVersion } from "../contract/index.js";
import { callProgress } from "./progress.js";
import { toolDefinition } from "./schemas.js";
import { toolText } from "./text.js";

/** MCP tool name → SDK operation, for every operation CONTRACT.md gives a tool. */
export function mcpTools(): Array<{ tool: string; operation: OperationName }> {
  return OPERATION_NAMES.flatMap((operation) => {
    const tool = OPERATIONS[operation].mcp;
    return tool ? [{ tool, operation }] : [];
  });
}

/** Every tool as `tools/list` shows it: schemas, descriptions and annotations from the contract. */
export function mcpToolDefinitions(): Tool[] {
  return mcpTools().map(({ tool, operation }) => toolDefinition(tool, operation));
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
 * is its operation's zod schema; a result comes back whole as structured
 * content, and as a bounded text summary for clients that read only text.
 *
 * The tool handlers sit on the underlying protocol server rather than
 * `registerTool`: that path validates arguments itself, with its own messages,
 * before pyro sees them. Here the SDK's validation (`Pyro#call`) is the only
 * one, so an MCP client gets the same `invalid_argument` errors as SDK users.
 */
export function createServer(options: { pyro?: Pyro } = {}): McpServer {
  const pyro = options.pyro ?? new Pyro();
  const server = new McpServer({ name: "pyro-mcp", version: packageVersion() });
  // Declared on the protocol server, not in McpServer's options: those would install its own tool handlers.
  server.server.registerCapabilities({ tools: {} });
  const tools = mcpToolDefinitions();
  const operations = new Map(mcpTools().map(({ tool, operation }) => [tool, operation]));
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const operation = operations.get(request.params.name);
    if (!operation) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(request.params.name)}; tools/list names every tool`);
    // Progress only for a client that asked for it with a token; a cancelled request (notifications/cancelled) kills its command.
    const token = request.params._meta?.progressToken;
    const progress = token === undefined ? null : callProgress(token, (n) => extra.sendNotification(n), isStreamingOperation(operation));
    try {
      const result: Record<string, unknown> = await pyro.call(operation, request.params.arguments ?? {}, { ...progress?.options, signal: extra.signal });
      await progress?.finish();
      return { content: [{ type: "text", text: toolText(result) }], structuredContent: result };
    } catch (error) {
      await progress?.finish();
      return toolError(error);
    }
  });
  return server;
}
