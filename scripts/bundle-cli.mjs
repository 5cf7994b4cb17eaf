// Bundle the `pyro` CLI into dist/cli.js after tsc: Node resolving and
// compiling a few hundred ES modules costs ~0.2 s per command, one file does
// not. The MCP server stays a separate chunk, loaded only by `pyro mcp serve`.
// The library (dist/index.js and the rest) stays unbundled.
import { rmSync } from "node:fs";
import { build } from "esbuild";

// Chunk names carry content hashes: drop the previous build's.
rmSync("dist/cli-chunks", { recursive: true, force: true });

await build({
  entryPoints: { cli: "src/cli.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "cli-chunks/[name]-[hash]",
  sourcemap: true,
  // Bundled CommonJS dependencies (commander) call require() for Node builtins.
  banner: { js: "import { createRequire as __pyroCreateRequire } from 'node:module'; const require = __pyroCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
