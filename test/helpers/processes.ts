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
