import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/env.js";

// The built CLI (scripts/bundle-cli.mjs): dist/cli.js runs dist/cli-bundle.cjs from V8's code cache.
describe("the built CLI's code cache", () => {
  let root: string;
  let dist: string;
  beforeEach(() => {
    // A copy of the package's CLI files, so the cache this writes is the test's own.
    root = mkdtempSync(join(tmpdir(), "pyro-cc-"));
    dist = join(root, "dist");
    mkdirSync(dist);
    copyFileSync(join(REPO_ROOT, "package.json"), join(root, "package.json"));
    for (const file of ["cli.js", "cli-bundle.cjs"]) copyFileSync(join(REPO_ROOT, "dist", file), join(dist, file));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const version = () => spawnSync(process.execPath, [join(dist, "cli.js"), "--version"], { encoding: "utf8" });
  const caches = () => readdirSync(dist).filter((name) => name.endsWith(".cache"));

  it("is written at the first run's exit, named after the bundle and Node, and used as it is by the next", () => {
    expect(caches()).toEqual([]);
    const first = version();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^pyro \d+\.\d+\.\d+ \(environment catalog /);
    expect(first.stderr).toBe("");
    const [cache] = caches();
    expect(cache).toMatch(new RegExp(`^cli-bundle\\.[0-9a-f]{16}\\.${process.version.replace(/\./g, "\\.")}-${process.arch}\\.cache$`));
    const written = statSync(join(dist, cache!));
    expect(written.size).toBeGreaterThan(100_000);
    const second = version();
    expect(second.stdout).toBe(first.stdout);
    // Accepted: not written again.
    expect(statSync(join(dist, cache!)).mtimeMs).toBe(written.mtimeMs);
    expect(readdirSync(dist).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("a cache V8 rejects (damaged) costs only the compile: the command runs and the cache is written anew", () => {
    version();
    const [cache] = caches();
    writeFileSync(join(dist, cache!), Buffer.alloc(4096, 0x5a));
    const run = version();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^pyro /);
    expect(readFileSync(join(dist, cache!)).subarray(0, 4096).equals(Buffer.alloc(4096, 0x5a))).toBe(false);
  });

  it("a directory it cannot write to only goes without a cache", () => {
    // A read-only install, as another user finds a global one.
    spawnSync("chmod", ["a-w,go+rx", dist]);
    spawnSync("chmod", ["go+rx", root]);
    try {
      const run = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, join(dist, "cli.js"), "--version"], { encoding: "utf8" });
      expect(run.stderr).toBe("");
      expect(run.stdout).toMatch(/^pyro /);
      expect(run.status).toBe(0);
      expect(caches()).toEqual([]);
    } finally {
      spawnSync("chmod", ["u+w", dist]);
    }
  });
});
