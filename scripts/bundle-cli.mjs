// Bundle the `pyro` CLI after tsc (docs/architecture.md, "Build"): Node
// resolving a few hundred ES modules costs ~0.2 s per command, and compiling
// the one big file that replaces them still ~40 ms. So the CLI is one
// CommonJS script, dist/cli-bundle.cjs, which dist/cli.js (the bin, written
// here from scripts/cli-loader.mjs) compiles with V8's code cache: Node 20
// has no compile cache of its own (module.enableCompileCache is Node 22).
// The same bundle is also the entry of the CLI's startup snapshot
// (src/cli-snapshot.ts), built here for this Node by dist/cli-snapshot-build.cjs
// (from scripts/) and used by the bin when valid: Node then starts with the
// modules evaluated, skipping the load altogether.
// The MCP server is part of the bundle but evaluated only by `pyro mcp
// serve` (esbuild defers a module reached only through import()).
// The library (dist/index.js and the rest) stays unbundled.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

// What earlier builds left: the chunked ESM bundle, code caches of other bundles.
rmSync("dist/cli-chunks", { recursive: true, force: true });
rmSync("dist/cli.js.map", { force: true }); // tsc's map of the dist/cli.js this replaces
for (const name of readdirSync("dist")) if (/^cli-bundle\..*\.cache$|^cli-snapshot\.(blob|key|failed)$/.test(name)) rmSync(`dist/${name}`, { force: true });

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/cli-bundle.cjs",
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  sourcemap: true,
  // Whitespace only (names and syntax kept): 30% less source to read, compile and hold in the snapshot,
  // whose isolate part then deserialises in ~15 ms instead of ~21.
  minifyWhitespace: true,
  // The loader passes the bundle's own URL: src/util/paths.ts finds the package root from it.
  define: { "import.meta.url": "__pyroImportMetaUrl" },
  // Inside `node --build-snapshot` only: node:http and node:https hold a native handle a snapshot cannot keep
  // (V8 aborts on HTTPParser), so there they load at first use (every import of them is named: a property read).
  banner: {
    js: `var require = ((real) => { if (!real("node:v8").startupSnapshot.isBuildingSnapshot()) return real; const later = new Set(["node:http", "node:https"]); return (id) => (later.has(id) ? new Proxy({}, { get: (_, key) => real(id)[key] }) : real(id)); })(require);`,
  },
  logLevel: "warning",
});

// The loader names its cache after the bundle's content: V8 checks only a cache's source length, not its text.
const hash = createHash("sha256").update(readFileSync("dist/cli-bundle.cjs")).digest("hex").slice(0, 16);
const loader = readFileSync(new URL("./cli-loader.mjs", import.meta.url), "utf8").replace("__PYRO_BUNDLE_HASH__", hash);
writeFileSync("dist/cli.js", loader);
chmodSync("dist/cli.js", 0o755); // tsc wrote a dist/cli.js first: a mode given to writeFileSync applies only to a new file
copyFileSync(new URL("./cli-snapshot-build.cjs", import.meta.url), "dist/cli-snapshot-build.cjs");

// The startup snapshot for this Node (the bin builds one for another Node on demand). Not fatal: without it
// the bin uses the code cache; test/faces/cli-snapshot.test.ts fails while the build does.
const snapshot = spawnSync(process.execPath, ["dist/cli-snapshot-build.cjs"], { stdio: "inherit" });
if (snapshot.status !== 0) process.stderr.write("warning: the CLI's startup snapshot was not built (above); `pyro` still works, from its code cache\n");
