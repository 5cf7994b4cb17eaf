import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLock, withLock, removeStaleLock } from "../../src/util/lock.js";
import { PyroError } from "../../src/util/errors.js";
import { writeTranspiledModules } from "../helpers/transpiled.js";
import { tempDir } from "./fixture.js";

const dir = tempDir("pyro-lock-");
const moduleDir = join(dir.dir, "mod");

/** Transpile the real lock helper for child processes (plain node cannot load .ts). */
beforeAll(() => {
  writeTranspiledModules(moduleDir, ["util/lock", "util/errors", "util/process", "util/start-gate"]);
  // Child: take the lock, then either hold it for HOLD ms or increment a counter file N times.
  writeFileSync(
    join(moduleDir, "child.mjs"),
    `import { withLock, acquireLock } from "./util/lock.js";
import { readFileSync, writeFileSync } from "node:fs";
const [mode, lockPath, arg, counter] = process.argv.slice(2);
if (mode === "hold") {
  await acquireLock(lockPath);
  process.stdout.write("held\\n");
  await new Promise((r) => setTimeout(r, Number(arg)));
  process.exit(0); // exits holding the lock: the file stays behind, its pid is dead
} else {
  for (let i = 0; i < Number(arg); i++) {
    await withLock(lockPath, async () => {
      const value = Number(readFileSync(counter, "utf8"));
      await new Promise((r) => setTimeout(r, 2));
      writeFileSync(counter, String(value + 1));
    }, { pollMs: 5 });
  }
}
`,
  );
});

afterAll(() => dir.cleanup());

/** Start a child holding the lock; resolves once it holds it. */
function holdInChild(lockPath: string, holdMs: number): Promise<{ pid: number; exited: Promise<number> }> {
  const child = spawn(process.execPath, [join(moduleDir, "child.mjs"), "hold", lockPath, String(holdMs)], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number>((r) => child.on("exit", (code) => r(code ?? -1)));
  return new Promise((resolvePromise) => {
    child.stdout.once("data", () => resolvePromise({ pid: child.pid as number, exited }));
  });
}

describe("withLock across processes", () => {
  it("waits for a live holder in another process, and then takes over its stale lock", async () => {
    const lockPath = join(dir.dir, "a.lock");
    const child = await holdInChild(lockPath, 800);
    let waitedFor: number | undefined;
    const started = Date.now();
    await withLock(lockPath, async () => undefined, { onWait: (owner) => (waitedFor = owner?.pid) });
    expect(waitedFor).toBe(child.pid);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(await child.exited).toBe(0);
    expect(existsSync(lockPath)).toBe(false);
  });

  it("breaks the lock of a killed process at once", async () => {
    const lockPath = join(dir.dir, "b.lock");
    const child = await holdInChild(lockPath, 60_000);
    process.kill(child.pid, "SIGKILL");
    await child.exited;
    const started = Date.now();
    await withLock(lockPath, async () => undefined, { timeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("gives up with a busy PyroError after the timeout", async () => {
    const lockPath = join(dir.dir, "c.lock");
    const child = await holdInChild(lockPath, 3_000);
    const error = await withLock(lockPath, async () => undefined, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).code).toBe("busy");
    expect((error as PyroError).message).toContain(String(child.pid));
    expect(await removeStaleLock(lockPath)).toBe(false);
    await child.exited;
    expect(await removeStaleLock(lockPath)).toBe(true);
  });

  it("excludes concurrent writers in four processes", async () => {
    const lockPath = join(dir.dir, "d.lock");
    const counter = join(dir.dir, "counter");
    writeFileSync(counter, "0");
    const children = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, [join(moduleDir, "child.mjs"), "count", lockPath, "25", counter], { stdio: "inherit" });
      return new Promise<number>((r) => child.on("exit", (code) => r(code ?? -1)));
    });
    expect(await Promise.all(children)).toEqual([0, 0, 0, 0]);
    expect(readFileSync(counter, "utf8")).toBe("100");
  });

  it("treats a lock whose pid was reused by a newer process as stale", async () => {
    const lockPath = join(dir.dir, "e.lock");
    // Our own pid, but a start time that is not ours: a reused pid.
    writeFileSync(lockPath, JSON.stringify({ pid: process.pid, start_time: 1, host: (await import("node:os")).hostname(), acquired_at: "x" }));
    const release = await acquireLock(lockPath, { timeoutMs: 2_000 });
    await release();
    expect(existsSync(lockPath)).toBe(false);
  });
});
