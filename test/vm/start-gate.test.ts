import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeTranspiledModules } from "../helpers/transpiled.js";
import { isProcessAlive, spawnDetached, waitFor } from "../../src/util/process.js";
import { GATE_WAIT, StartGate } from "../../src/util/start-gate.js";

/** A detached shell that, once through GATE_WAIT, writes what its stdin is to `marker` and exits. */
function gatedScript(marker: string): string[] {
  return ["-c", `${GATE_WAIT}; readlink /proc/self/fd/0 > "$0"`, marker];
}

describe("a start gate holds detached children until it opens (the pool's refill during a command)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "pyro-gate-"));
    dirs.push(dir);
    return dir;
  };

  it("a gated child waits, and goes on with /dev/null as stdin once the gate opens; a child started after it opened goes at once", async () => {
    const dir = tempDir();
    const gate = new StartGate();
    const first = join(dir, "first");
    const child = await spawnDetached("/bin/sh", gatedScript(first), { stdoutPath: "/dev/null", stderrPath: "/dev/null", env: process.env, gate });
    // Held: alive, nothing written, for as long as the gate stays shut.
    await new Promise((r) => setTimeout(r, 500));
    expect(isProcessAlive(child.pid, child.startTime)).toBe(true);
    expect(existsSync(first)).toBe(false);
    const opened: string[] = [];
    gate.whenOpen(() => opened.push("reported"));
    expect(opened).toEqual([]);
    gate.open();
    expect(opened).toEqual(["reported"]);
    expect(await waitFor(() => existsSync(first) && readFileSync(first, "utf8") !== "", 5000)).toBe(true);
    expect(readFileSync(first, "utf8").trim()).toBe("/dev/null");
    // Open already: a new gated child is not held, and a new callback runs at once.
    const second = join(dir, "second");
    await spawnDetached("/bin/sh", gatedScript(second), { stdoutPath: "/dev/null", stderrPath: "/dev/null", env: process.env, gate });
    expect(await waitFor(() => existsSync(second) && readFileSync(second, "utf8") !== "", 5000)).toBe(true);
    gate.whenOpen(() => opened.push("late"));
    expect(opened).toEqual(["reported", "late"]);
  });

  it("a holder killed with SIGKILL (no chance to open it) lets its gated children go on", async () => {
    const dir = tempDir();
    const marker = join(dir, "marker");
    // Plain node cannot load .ts: the real modules, transpiled, for the holder process.
    const moduleDir = join(dir, "mod");
    writeTranspiledModules(moduleDir, ["util/process", "util/errors", "util/start-gate"]);
    // The holder: starts a gated child, prints its pid, and waits forever without opening the gate.
    writeFileSync(
      join(moduleDir, "holder.mjs"),
      `import { spawnDetached } from "./util/process.js";
import { GATE_WAIT, StartGate } from "./util/start-gate.js";
const gate = new StartGate();
const child = await spawnDetached("/bin/sh", ["-c", GATE_WAIT + '; echo went > "$0"', process.argv[2]], { stdoutPath: "/dev/null", stderrPath: "/dev/null", env: process.env, gate });
console.log(child.pid);
setInterval(() => undefined, 1000);
`,
    );
    const holder = spawn(process.execPath, [join(moduleDir, "holder.mjs"), marker], { stdio: ["ignore", "pipe", "inherit"] });
    const childPid = await new Promise<number>((resolve, reject) => {
      holder.stdout!.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      holder.once("exit", (code) => reject(new Error(`the holder exited (${code}) before starting its child`)));
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
    expect(isProcessAlive(childPid)).toBe(true);
    holder.kill("SIGKILL");
    expect(await waitFor(() => existsSync(marker), 5000)).toBe(true);
    expect(readFileSync(marker, "utf8").trim()).toBe("went");
  });
});
