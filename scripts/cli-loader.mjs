#!/bin/sh
":" /*
# The `pyro` bin, written to dist/cli.js by scripts/bundle-cli.mjs: a shell
# script for the shell, a module for Node (docs/architecture.md, "Build").
# Line 2 is the no-op `:` to the shell (its glob argument is harmless) and a
# string, then a comment that ends after the last `exec`, to JavaScript.
# As a shell script it starts Node from the CLI's startup snapshot
# (cli-snapshot.blob beside it) when cli-snapshot.key says the blob was built
# by this `node` from this bundle and is untouched since: it names node, the
# bundle (the snapshot's entry) and the blob by device, inode, size, mtime and
# ctime. Node aborts on a damaged or foreign blob, so it is never handed one.
# Otherwise (no or another blob, another node, NODE_OPTIONS set, PYRO_SNAPSHOT=0)
# it runs itself with Node, below. `exec` either way: signals, stdin, stdout
# and the exit status are Node's own. PYRO_LOADER_TRACE=1: say which, on stderr.
self=$0
# npm links the bin (node_modules/.bin/pyro, a global bin): the files are beside its target.
if [ -L "$self" ]; then self=$(readlink -f -- "$self") || exit 1; fi
dir=${self%/*}
[ "$dir" = "$self" ] && dir=.
if [ -z "$NODE_OPTIONS" ] && [ "$PYRO_SNAPSHOT" != 0 ] && node=$(command -v node) &&
  { IFS= read -r k1 && IFS= read -r k2 && IFS= read -r k3; } 2>/dev/null < "$dir/cli-snapshot.key" &&
  [ "$(stat -L -c '%d:%i:%s:%.9Y:%.9Z' -- "$node" "$dir/cli-bundle.cjs" "$dir/cli-snapshot.blob" 2>/dev/null)" = "$k1
$k2
$k3" ]; then
  [ "$PYRO_LOADER_TRACE" = 1 ] && echo "[pyro] loader: startup snapshot" >&2
  exec "$node" --snapshot-blob "$dir/cli-snapshot.blob" -- "$self" "$@"
fi
exec node "$self" "$@"
*/
// As a module: runs the bundled CLI (dist/cli-bundle.cjs) from V8's code
// cache, so a command skips parsing and compiling ~2 MB of JavaScript. Node 20
// has no compile cache (module.enableCompileCache is Node 22), so this does
// what Node's CommonJS loader would, plus the cache: one file beside the
// bundle per bundle content and Node version, written at the first exit that
// lacked a usable one (after the command ran, so it holds the functions the
// command compiled). A cache V8 rejects, or one that cannot be read or written
// (a read-only install), only costs that compile. At exit it also starts, in
// the background, the build of a startup snapshot for this node when there is
// no valid one (dist/cli-snapshot-build.mjs; a read-only install goes without).
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Script } from "node:vm";

const bundle = new URL("./cli-bundle.cjs", import.meta.url);
const bundlePath = decodeURIComponent(bundle.pathname);
const cachePath = `${bundlePath.slice(0, -4)}.__PYRO_BUNDLE_HASH__.${process.version}-${process.arch}.cache`;
let source = readFileSync(bundlePath, "utf8");
// esbuild keeps the entry's hashbang; inside the wrapper it would be a syntax error (same length keeps columns).
if (source.startsWith("#!")) source = `//${source.slice(2)}`;
let cachedData;
try {
  cachedData = readFileSync(cachePath);
} catch {
  // none yet: compiled from source, and saved at exit
}
// The wrapper starts on the bundle's first line, so line numbers in stack traces stay the bundle's.
const script = new Script(`(function (exports, require, module, __filename, __dirname, __pyroImportMetaUrl) {${source}\n})`, {
  filename: bundlePath,
  ...(cachedData ? { cachedData } : {}),
});
if (!cachedData || script.cachedDataRejected) {
  process.once("exit", () => {
    const temp = `${cachePath}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, script.createCachedData());
      renameSync(temp, cachePath);
    } catch {
      rmSync(temp, { force: true });
    }
  });
}
if (process.env.PYRO_SNAPSHOT !== "0") {
  process.once("exit", () => {
    try {
      // A read and three stats when the snapshot is valid (this Node was not the launcher's, or NODE_OPTIONS was set).
      createRequire(import.meta.url)("./cli-snapshot-build.cjs").buildInBackgroundIfStale();
    } catch {
      // no builder beside the bin: the code cache serves
    }
  });
}
if (process.env.PYRO_LOADER_TRACE === "1") process.stderr.write("[pyro] loader: code cache\n");
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundlePath, bundlePath.slice(0, bundlePath.lastIndexOf("/")), bundle.href);
