// Load a TypeScript module of this repository from plain Node (before or without tsc):
// esbuild bundles it, leaving packages external, into node_modules/.cache, where
// Node resolves this project's packages, and the bundle is imported.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

/** Import `entry` (a .ts path relative to the repository root) and return its module. */
export async function loadTs(entry) {
  mkdirSync("node_modules/.cache", { recursive: true });
  const dir = mkdtempSync(join("node_modules/.cache", "pyro-ts-"));
  try {
    const bundle = join(dir, "module.mjs");
    await build({ entryPoints: [entry], outfile: bundle, bundle: true, format: "esm", platform: "node", target: "node20", packages: "external", logLevel: "warning" });
    return await import(pathToFileURL(join(process.cwd(), bundle)).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
