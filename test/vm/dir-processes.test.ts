import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killProcessesUnder, processesUnder } from "../../src/util/dir-processes.js";
import { isProcessAlive } from "../../src/util/process.js";

/** A process with `args` on its command line and no child: sh blocked in its builtin `read` on a pipe the test holds open. */
function sleeperWith(...args: string[]): ChildProcess {
  return spawn("/bin/sh", ["-c", "read line", "sh", ...args], { stdio: ["pipe", "ignore", "ignore"] });
}

describe("the processes of a machine directory", () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "pyro-dirproc-"));
    dirs.push(dir);
    return dir;
  };

  // A parked machine's warm-up is given the directory itself, not a path in it:
  // a drain that missed it left it running for its 30 s agent timeouts.
  it("include one given the directory itself, one naming a path inside it (also within an option), and not one of a sibling with the same prefix", async () => {
    const dir = tempDir();
    const exact = sleeperWith(dir);
    const inside = sleeperWith(`file=${dir}/disk.qcow2,format=qcow2`);
    const sibling = sleeperWith(`${dir}-other`, `${dir}x/disk`);
    children.push(exact, inside, sibling);
    await new Promise((r) => setTimeout(r, 100));
    expect(processesUnder(dir)).toEqual([exact.pid!, inside.pid!].sort((a, b) => a - b));
    expect(processesUnder(`${dir}/`)).toEqual([exact.pid!, inside.pid!].sort((a, b) => a - b));
    const killed = await killProcessesUnder(dir);
    expect(killed.sort((a, b) => a - b)).toEqual([exact.pid!, inside.pid!].sort((a, b) => a - b));
    expect(isProcessAlive(exact.pid!)).toBe(false);
    expect(isProcessAlive(inside.pid!)).toBe(false);
    expect(isProcessAlive(sibling.pid!)).toBe(true);
  });
});
