#!/usr/bin/env node
import { main } from "./cli/main.js";
import { tolerateClosedPipes } from "./cli/pipes.js";

tolerateClosedPipes();

// The MCP server and its SDK load only for `pyro mcp serve`: every other command starts faster.
// No top-level await: the built CLI is one CommonJS script (scripts/bundle-cli.mjs), run from V8's code cache.
void main(process.argv.slice(2), {
  serveMcp: async (pyro, profile) => (await import("./mcp/index.js")).serveMcpOverStdio(pyro, { profile }),
}).then((code) => {
  process.exitCode = code;
});
