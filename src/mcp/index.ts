export { createServer, mcpTools, mcpToolDefinitions } from "./server.js";
export { serveMcpOverStdio } from "./stdio.js";
