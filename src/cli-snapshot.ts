// The CLI's startup snapshot (docs/architecture.md, "Build"): `node
// --build-snapshot dist/cli-bundle.cjs` (dist/cli-snapshot-build.cjs)
// evaluates every module of the CLI, not main, and saves the heap; the bin
// (dist/cli.js as a shell script) then starts `node --snapshot-blob <blob> --
// <bin> ...words`, which runs the function below instead of loading and
// initialising the bundle.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startupSnapshot } from "node:v8";
import { runCli } from "./cli-run.js";
import { settleSnapshotGuard } from "./cli-snapshot-guard.js";

/** Inside `node --build-snapshot`: refuse a heap that holds the build's own state, and set the snapshot's main function. */
export function prepareSnapshot(): void {
  const reads = settleSnapshotGuard();
  if (reads.length > 0) {
    throw new Error(
      `a module's top level read ${reads.join(", ")} while the CLI's startup snapshot was built: the snapshot would replay the build's value in every run. Read it in a function called per command instead (src/cli-snapshot-guard.ts).`,
    );
  }
  startupSnapshot.setDeserializeMainFunction(startFromSnapshot);
}

/** The first word of the builder's check run (never a command's). */
const SELFTEST = "--snapshot-selftest";

function startFromSnapshot(): void {
  // Node 20 passes [node, ...words after `--`]; later Nodes insert argv[0] at argv[1] (nodejs/node, lib/internal/v8/startup_snapshot.js).
  if (process.argv[1] === process.argv[0] && process.argv.length > 2) process.argv.splice(1, 1);
  // argv[1] is the bin as the launcher resolved it, as for any script; the package is found from the bundle beside it.
  const bin = resolve(process.argv[1] ?? ".");
  process.argv[1] = bin;
  (globalThis as Record<string, unknown>).__pyroImportMetaUrl = pathToFileURL(resolve(bin, "..", "cli-bundle.cjs")).href;
  const words = process.argv.slice(2);
  // The builder's check that this Node accepts the blob and passes the words through (scripts/cli-snapshot-build.cjs).
  if (words[0] === SELFTEST) {
    process.stdout.write(`${JSON.stringify({ snapshot: true, words: words.slice(1) })}\n`);
    return;
  }
  runCli(words);
}
