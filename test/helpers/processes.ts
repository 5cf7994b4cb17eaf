import { readdirSync, readFileSync } from "node:fs";
import { isProcessAlive } from "../../src/util/process.js";

/** Host pids of live processes (zombies excluded) whose command line mentions `text`. */
export function pidsMentioning(text: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text) && isProcessAlive(Number(pid));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Live processes (zombies excluded) with their command lines. */
export function liveProcesses(): Array<{ pid: number; argv: string[] }> {
  const found: Array<{ pid: number; argv: string[] }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const state = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.[0];
      if (state !== "Z" && state !== "X") found.push({ pid: Number(entry), argv });
    } catch {
      // gone
    }
  }
  return found;
}

/** The slirp4netns stacks of machines under `dir` (each names its API socket there), as `pid argv…` for failure messages. */
export function stacksUnder(dir: string): string[] {
  return liveProcesses()
    .filter((p) => (p.argv[0] ?? "").endsWith("slirp4netns") && p.argv.some((arg) => arg.includes(dir)))
    .map((p) => `${p.pid} ${p.argv.join(" ")}`);
}

/**
 * Sandbox agents of machines under `dir`. Their command lines do not name it,
 * but their root is an overlay whose directories are there.
 */
export function sandboxAgentsUnder(dir: string): number[] {
  return liveProcesses()
    .filter((p) => {
      try {
        return (p.argv[0] ?? "").endsWith("pyro-agent") && readFileSync(`/proc/${p.pid}/mountinfo`, "utf8").includes(dir);
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}
