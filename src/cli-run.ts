import { main } from "./cli/main.js";
import { tolerateClosedPipes } from "./cli/pipes.js";

/**
 * Run the `pyro` CLI on `argv` (the words after the program) and set the
 * process's exit code when it is done. Shared by the two ways the bin starts
 * (docs/architecture.md, "Build"): the bundle run from V8's code cache
 * (src/cli.ts) and the startup snapshot (src/cli-snapshot.ts).
 */
export function runCli(argv: string[]): void {
  tolerateClosedPipes();
  // The MCP server and its SDK load only for `pyro mcp serve`: every other command starts faster.
  // No top-level await: the built CLI is one CommonJS script (scripts/bundle-cli.mjs).
  void main(argv, {
    serveMcp: async (pyro, profile) => (await import("./mcp/index.js")).serveMcpOverStdio(pyro, { profile }),
  }).then((code) => {
    process.exitCode = code;
  });
}
