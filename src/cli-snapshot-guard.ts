// The first module of the CLI (src/cli.ts): only inside `node --build-snapshot`
// (the CLI's startup snapshot, src/cli-snapshot.ts), while the bundle's modules initialise, it
// records every read of the building process's own state, whose values the
// snapshot would otherwise carry into every later run (the environment,
// argv, cwd, pid, uid, the clock, random numbers, stdio, the package's path,
// the host's CPUs, memory and files).
// The snapshot refuses to build when anything was read: such a value
// belongs in a function that runs per command, not at a module's top level.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import { startupSnapshot } from "node:v8";

const reads = new Set<string>();
const restores: Array<() => void> = [];
let settled = false;

/**
 * Record `label` when the bundle's own code made the read: its direct caller
 * is in the same file as this function. Node's internals read the same state
 * for themselves while the snapshot builds (a warning reads process.env and
 * process.stderr), which is theirs to reset.
 */
function record(label: string): void {
  // A module that kept process.env (the watching proxy) reads through it later: no longer recorded.
  if (settled) return;
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.stackTraceLimit = 4;
    Error.prepareStackTrace = (_error, callSites) => callSites;
    sites = (new Error().stack as unknown as NodeJS.CallSite[] | undefined) ?? [];
  } finally {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = prepare;
  }
  // [0] here, [1] the watching getter or wrapper, [2] who read.
  const [self, , reader] = sites;
  if (self && reader && reader.getFileName() === self.getFileName()) reads.add(`${label} (line ${reader.getLineNumber()})`);
}

/** Record any get of `target[key]` (a value or an accessor) until settled. */
function watchGet(target: object, key: PropertyKey, label: string): void {
  const original = Object.getOwnPropertyDescriptor(target, key);
  if (!original) return;
  Object.defineProperty(target, key, {
    configurable: true,
    enumerable: original.enumerable ?? true,
    get(this: unknown) {
      record(label);
      return original.get ? original.get.call(this) : original.value;
    },
  });
  restores.push(() => Object.defineProperty(target, key, original));
}

// Test seams of the `tar` package, read at its top level; unset in use, where they fall back to process.platform.
const UNSET_SEAMS = new Set(["TESTING_TAR_FAKE_PLATFORM", "__FAKE_PLATFORM__", "__FAKE_FS_O_FILENAME__"]);

/** Record each variable read from process.env (the object itself reads the live environment: holding it is fine). */
function watchEnv(): void {
  const original = Object.getOwnPropertyDescriptor(process, "env");
  if (!original) return;
  const env = process.env;
  const watched = new Proxy(env, {
    get(target, name) {
      if (typeof name === "string" && !UNSET_SEAMS.has(name)) record(`process.env.${name}`);
      return Reflect.get(target, name);
    },
    has(target, name) {
      if (typeof name === "string") record(`process.env.${name}`);
      return Reflect.has(target, name);
    },
    ownKeys(target) {
      record("process.env (all)");
      return Reflect.ownKeys(target);
    },
  });
  Object.defineProperty(process, "env", { ...original, value: watched });
  restores.push(() => Object.defineProperty(process, "env", original));
}

/** Record any call of the function `target[key]` until settled. */
function watchCall(target: Record<string, unknown>, key: string, label: string): void {
  const original = target[key];
  if (typeof original !== "function") return;
  target[key] = function (this: unknown, ...args: unknown[]) {
    record(label);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  restores.push(() => {
    target[key] = original;
  });
}

if (startupSnapshot.isBuildingSnapshot()) watchProcessState();

function watchProcessState(): void {
  watchEnv();
  for (const key of ["argv", "execArgv", "argv0", "pid", "ppid", "stdin", "stdout", "stderr", "title"]) watchGet(process, key, `process.${key}`);
  // Where the package is (src/util/paths.ts): the snapshot's main function sets it per run.
  Object.defineProperty(globalThis, "__pyroImportMetaUrl", { configurable: true, get: () => void record("import.meta.url") });
  restores.push(() => delete (globalThis as Record<string, unknown>).__pyroImportMetaUrl);
  // Who runs it (a global install is built by root and run by everyone), and where.
  for (const key of ["cwd", "getuid", "geteuid", "getgid", "getegid", "getgroups", "umask", "uptime", "memoryUsage"]) watchCall(process as unknown as Record<string, unknown>, key, `process.${key}()`);
  watchCall(Date as unknown as Record<string, unknown>, "now", "Date.now()");
  watchCall(Math as unknown as Record<string, unknown>, "random", "Math.random()");
  // The host as the build saw it: CPUs and memory (a container's limits differ per run), the kernel, the files.
  for (const key of ["tmpdir", "homedir", "hostname", "userInfo", "cpus", "availableParallelism", "totalmem", "freemem", "loadavg", "networkInterfaces", "uptime", "release", "version"]) {
    watchCall(os as unknown as Record<string, unknown>, key, `os.${key}()`);
  }
  for (const key of ["existsSync", "statSync", "lstatSync", "accessSync", "readFileSync", "readdirSync", "readlinkSync", "realpathSync", "openSync"]) watchCall(fs as unknown as Record<string, unknown>, key, `fs.${key}()`);
  for (const key of ["randomBytes", "randomUUID", "randomInt"]) watchCall(crypto as unknown as Record<string, unknown>, key, `crypto.${key}()`);
}

/** Stop watching, restore what was wrapped, and return what the modules read while building a snapshot (empty: nothing leaks into it). */
export function settleSnapshotGuard(): string[] {
  settled = true;
  for (const restore of restores.reverse()) restore();
  return [...reads];
}
