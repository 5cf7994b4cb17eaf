import { readdirSync, readFileSync } from "node:fs";
import { isProcessAlive, sleep } from "./process.js";

interface ProcEntry {
  pid: number;
  ppid: number;
  /** Whether its command line names the directory or a path inside it. */
  mentions: boolean;
}

/** Whether a command-line argument is `dir` itself or names a path inside it (also within an option, as QEMU's `file=DIR/disk,…`). */
function namesPathIn(arg: string, dir: string): boolean {
  return arg === dir || arg.includes(`${dir}/`);
}

function procEntries(dir: string): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z" || fields[0] === "X") continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      entries.push({ pid, ppid: Number(fields[1]), mentions: cmdline.split("\0").some((arg) => namesPathIn(arg, dir)) });
    } catch {
      // Gone while we looked.
    }
  }
  return entries;
}

/**
 * Every live process whose command line names `dir` or a path inside it, and
 * all their descendants. A machine's host processes (VMM, sandbox launcher,
 * bwrap, a parked machine's warm-up, which is given the directory itself)
 * all carry it or paths inside it in their arguments, so this
 * finds a machine that no record knows of: one whose creator was killed
 * before it could record the handle.
 */
export function processesUnder(dir: string): number[] {
  const entries = procEntries(dir.replace(/\/+$/, ""));
  const found = new Set(entries.filter((e) => e.mentions).map((e) => e.pid));
  // Descendants: a sandbox's agent (bwrap's child) and everything in it.
  for (let grown = true; grown; ) {
    grown = false;
    for (const entry of entries) {
      if (!found.has(entry.pid) && found.has(entry.ppid)) {
        found.add(entry.pid);
        grown = true;
      }
    }
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * SIGKILL every process of {@link processesUnder}, again until none is left
 * (one may fork between a look and the kill) or `timeoutMs` passes. Returns
 * the pids it killed.
 */
export async function killProcessesUnder(dir: string, timeoutMs = 5000): Promise<number[]> {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = processesUnder(dir).filter((pid) => isProcessAlive(pid));
    if (pids.length === 0 || Date.now() >= deadline) return [...killed];
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        // Already gone.
      }
    }
    await sleep(20);
  }
}
