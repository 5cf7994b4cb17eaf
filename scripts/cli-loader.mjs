#!/usr/bin/env node
// The `pyro` bin, written to dist/cli.js by scripts/bundle-cli.mjs: runs the
// bundled CLI (dist/cli-bundle.cjs) from V8's code cache, so a command skips
// parsing and compiling ~2 MB of JavaScript. Node 20 has no compile cache
// (module.enableCompileCache is Node 22), so this does what Node's CommonJS
// loader would, plus the cache: one file beside the bundle per bundle content
// and Node version, written at the first exit that lacked a usable one (after
// the command ran, so it holds the functions the command compiled). A cache V8
// rejects, or one that cannot be read or written (a read-only install), only
// costs that compile.
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
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundlePath, bundlePath.slice(0, bundlePath.lastIndexOf("/")), bundle.href);
