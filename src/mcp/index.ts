export { createServer, mcpTools } from "./server.js";
export { serveMcpOverStdio } from "./stdio.js";
