// Bundle the `pyro` CLI after tsc (docs/architecture.md, "Build"): Node
// resolving a few hundred ES modules costs ~0.2 s per command, and compiling
// the one big file that replaces them still ~40 ms. So the CLI is one
// CommonJS script, dist/cli-bundle.cjs, which dist/cli.js (the bin, written
// here from scripts/cli-loader.mjs) compiles with V8's code cache: Node 20
// has no compile cache of its own (module.enableCompileCache is Node 22).
// The MCP server is part of the bundle but evaluated only by `pyro mcp
// serve` (esbuild defers a module reached only through import()).
// The library (dist/index.js and the rest) stays unbundled.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

// What earlier builds left: the chunked ESM bundle, code caches of other bundles.
rmSync("dist/cli-chunks", { recursive: true, force: true });
rmSync("dist/cli.js.map", { force: true }); // tsc's map of the dist/cli.js this replaces
for (const name of readdirSync("dist")) if (/^cli-bundle\..*\.cache$/.test(name)) rmSync(`dist/${name}`, { force: true });

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/cli-bundle.cjs",
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  sourcemap: true,
  // The loader passes the bundle's own URL: src/util/paths.ts finds the package root from it.
  define: { "import.meta.url": "__pyroImportMetaUrl" },
  logLevel: "warning",
});

// The loader names its cache after the bundle's content: V8 checks only a cache's source length, not its text.
const hash = createHash("sha256").update(readFileSync("dist/cli-bundle.cjs")).digest("hex").slice(0, 16);
const loader = readFileSync(new URL("./cli-loader.mjs", import.meta.url), "utf8").replace("__PYRO_BUNDLE_HASH__", hash);
writeFileSync("dist/cli.js", loader, { mode: 0o755 });
