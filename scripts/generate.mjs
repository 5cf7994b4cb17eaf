// Write the files generated from the operation catalog:
// - src/sdk/methods.generated.ts (scripts/sdk-methods.ts), the SDK's typed methods;
// - docs/public-contract.md (scripts/public-contract.ts), the public contract page.
// The renderers are TypeScript: esbuild bundles them with the catalog into a
// temporary module first, so this runs on plain Node before tsc.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

/** Each renderer: its entry point, the function that renders, and the constant naming its output file. */
const RENDERERS = [
  { entry: "scripts/sdk-methods.ts", render: "renderSdkMethods", path: "GENERATED_PATH" },
  { entry: "scripts/public-contract.ts", render: "renderPublicContract", path: "PUBLIC_CONTRACT_PATH" },
];
// `node scripts/generate.mjs sdk` renders only the SDK methods (the TypeScript build needs nothing else).
const only = process.argv[2] === "sdk" ? RENDERERS.slice(0, 1) : RENDERERS;

// The bundles leave packages external (commander cannot be bundled as ESM), so they
// are written where Node resolves this project's node_modules.
mkdirSync("node_modules/.cache", { recursive: true });
const dir = mkdtempSync(join("node_modules/.cache", "pyro-gen-"));
try {
  for (const [index, renderer] of only.entries()) {
    const bundle = join(dir, `renderer-${index}.mjs`);
    await build({ entryPoints: [renderer.entry], outfile: bundle, bundle: true, format: "esm", platform: "node", target: "node20", packages: "external", logLevel: "warning" });
    const module = await import(pathToFileURL(join(process.cwd(), bundle)).href);
    const path = module[renderer.path];
    const text = module[renderer.render]();
    let current = null;
    try {
      current = readFileSync(path, "utf8");
    } catch {
      // First generation.
    }
    // Leave an up-to-date file untouched, so the build does not bump its mtime.
    if (current !== text) {
      writeFileSync(path, text);
      console.error(`wrote ${path}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
