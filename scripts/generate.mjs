// Write the files generated from the operation catalog:
// - src/sdk/methods.generated.ts (scripts/sdk-methods.ts), the SDK's typed methods;
// - docs/public-contract.md (scripts/public-contract.ts), the public contract page.
// `node scripts/generate.mjs sdk` renders only the SDK methods.
import { readFileSync, writeFileSync } from "node:fs";
import { loadTs } from "./load-ts.mjs";

/** Each renderer: its entry point, the function that renders, and the constant naming its output file. */
const RENDERERS = [
  { entry: "scripts/sdk-methods.ts", render: "renderSdkMethods", path: "GENERATED_PATH" },
  { entry: "scripts/public-contract.ts", render: "renderPublicContract", path: "PUBLIC_CONTRACT_PATH" },
];
const only = process.argv[2] === "sdk" ? RENDERERS.slice(0, 1) : RENDERERS;

for (const renderer of only) {
  const module = await loadTs(renderer.entry);
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
