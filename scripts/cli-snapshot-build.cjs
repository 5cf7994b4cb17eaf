// Builds the CLI's startup snapshot for the Node running it, beside itself
// (copied to dist/ by scripts/bundle-cli.mjs; docs/architecture.md, "Build"):
// `node dist/cli-snapshot-build.cjs`. Run by `npm run build`, and in the
// background by the bin when it finds no valid snapshot for its node (a new
// install, another Node). The blob is checked (this Node accepts it and passes
// the words through) before it is renamed into place; the key the launcher
// compares is written last. A build that fails is recorded, so the bin does
// not retry it for the same node and bundle for a day; meanwhile the bin uses
// the code cache.
"use strict";
const { spawn, spawnSync } = require("node:child_process");
const { accessSync, constants, openSync, closeSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const dir = __dirname;
const files = {
  bin: join(dir, "cli.js"),
  entry: join(dir, "cli-bundle.cjs"),
  blob: join(dir, "cli-snapshot.blob"),
  key: join(dir, "cli-snapshot.key"),
  failed: join(dir, "cli-snapshot.failed"),
  lock: join(dir, "cli-snapshot.lock"),
};
// A lock older than this is a build that died.
const STALE_LOCK_MS = 5 * 60_000;
const RETRY_FAILED_MS = 24 * 3600_000;

/** A file's identity as the launcher's `stat -L -c '%d:%i:%s:%.9Y:%.9Z'` prints it. */
function stamp(path) {
  const s = statSync(path, { bigint: true });
  const time = (ns) => `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
  return `${s.dev}:${s.ino}:${s.size}:${time(s.mtimeNs)}:${time(s.ctimeNs)}`;
}

/** The key a valid snapshot of this node and bundle has now (throws when a file is missing). */
function currentKey() {
  return `${stamp(process.execPath)}\n${stamp(files.entry)}\n${stamp(files.blob)}\n`;
}

function read(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** What a failed build records: this node and this bundle. */
function attemptKey() {
  return `${stamp(process.execPath)}\n${stamp(files.entry)}\n`;
}

/**
 * Called by the bin's code-cache path at exit: start a detached build when
 * there is no valid snapshot for this node and bundle, none is being built,
 * none failed for them in the last day, and the directory is writable. Never throws.
 */
function buildInBackgroundIfStale() {
  try {
    let key = null;
    try {
      key = currentKey();
    } catch {
      // no blob yet
    }
    if (key !== null && read(files.key) === key) return;
    // A failure (a module that reads the build's state, a Node without snapshots) is retried a day later, not per command.
    if (read(files.failed) === attemptKey() && Date.now() - statSync(files.failed).mtimeMs < RETRY_FAILED_MS) return;
    try {
      if (Date.now() - statSync(files.lock).mtimeMs < STALE_LOCK_MS) return;
    } catch {
      // no build running
    }
    accessSync(dir, constants.W_OK);
    spawn(process.execPath, [__filename], { cwd: dir, detached: true, stdio: "ignore", env: { PATH: process.env.PATH ?? "" } }).unref();
  } catch {
    // a read-only install, or no snapshot support: the code cache serves
  }
}

/** Build, check and install the snapshot; returns null, or why it failed. */
function build() {
  const temp = `${files.blob}.${process.pid}.tmp`;
  try {
    // An empty environment: no value of this process can reach the heap (src/cli-snapshot-guard.ts checks the rest).
    const built = spawnSync(process.execPath, ["--snapshot-blob", temp, "--build-snapshot", files.entry], { cwd: dir, env: {}, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 });
    if (built.status !== 0) {
      const reason = built.stderr.split("\n").filter((line) => /Error|error:|Check failed/.test(line)).slice(0, 3).join(" | ");
      return `node --build-snapshot exited ${built.status ?? built.signal}: ${reason || built.stderr.slice(-500)}`;
    }
    const words = ["--version", "a b", "-"];
    const check = spawnSync(process.execPath, ["--snapshot-blob", temp, "--", files.bin, "--snapshot-selftest", ...words], { cwd: dir, env: {}, encoding: "utf8", timeout: 60_000 });
    if (check.stdout !== `${JSON.stringify({ snapshot: true, words })}\n`) return `the built snapshot does not start (exit ${check.status ?? check.signal}): ${check.stderr.slice(0, 300)}`;
    renameSync(temp, files.blob);
    const keyTemp = `${files.key}.${process.pid}.tmp`;
    writeFileSync(keyTemp, currentKey());
    renameSync(keyTemp, files.key);
    rmSync(files.failed, { force: true });
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Run as a script: build once under the lock; exit 1 (with the reason on stderr) when the build failed. */
function main() {
  let lock;
  try {
    lock = openSync(files.lock, "wx");
  } catch {
    try {
      if (Date.now() - statSync(files.lock).mtimeMs < STALE_LOCK_MS) return; // another build is running
      rmSync(files.lock, { force: true });
      lock = openSync(files.lock, "wx");
    } catch {
      return;
    }
  }
  try {
    const failure = build();
    if (failure !== null) {
      try {
        writeFileSync(files.failed, attemptKey());
      } catch {
        // read-only: nothing to record
      }
      process.stderr.write(`pyro: no startup snapshot (the CLI uses its code cache): ${failure}\n`);
      process.exitCode = 1;
    }
  } finally {
    closeSync(lock);
    rmSync(files.lock, { force: true });
  }
}

module.exports = { buildInBackgroundIfStale, stamp };
if (require.main === module) main();
