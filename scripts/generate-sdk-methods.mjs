// Write src/sdk/methods.generated.ts from the operation catalog (see scripts/sdk-methods.ts).
// The catalog is TypeScript: esbuild bundles the renderer with it into a
// temporary module first, so this runs on plain Node before tsc.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const dir = mkdtempSync(join(tmpdir(), "pyro-gen-"));
try {
  const bundle = join(dir, "sdk-methods.mjs");
  await build({ entryPoints: ["scripts/sdk-methods.ts"], outfile: bundle, bundle: true, format: "esm", platform: "node", target: "node20", logLevel: "warning" });
  const { renderSdkMethods, GENERATED_PATH } = await import(pathToFileURL(bundle).href);
  const text = renderSdkMethods();
  let current = null;
  try {
    current = readFileSync(GENERATED_PATH, "utf8");
  } catch {
    // First generation.
  }
  // Leave an up-to-date file untouched, so the build does not bump its mtime.
  if (current !== text) {
    writeFileSync(GENERATED_PATH, text);
    console.error(`wrote ${GENERATED_PATH}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
