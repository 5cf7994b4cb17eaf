import { realpathSync } from "node:fs";
import { isProcessAlive, spawnDetached } from "../../util/process.js";

/** A parked machine's watchdog: the leader of its own process group. */
export interface ParkWatchdog {
  pid: number;
  start_time: string | null;
}

/**
 * The watchdog's script: `$0 SECONDS PID START_TIME DIR`. After SECONDS it
 * kills the VMM (PID, if its start time still matches) when the VMM is still
 * parked (its working directory is still DIR: a taker renames DIR, and the
 * kernel's cwd follows the rename) or its directory was deleted (a state dir
 * removed under it). A machine taken meanwhile is left alone.
 */
const SCRIPT = [
  'sleep "$1"',
  'pid=$2; start=$3; dir=$4',
  // Field 22 of stat is the start time; the VMM's name (qemu-system-x86) has no space.
  '[ "$(cut -d" " -f22 "/proc/$pid/stat" 2>/dev/null)" = "$start" ] || exit 0',
  'cwd=$(readlink "/proc/$pid/cwd") || exit 0',
  'case "$cwd" in "$dir" | *" (deleted)") kill -KILL "$pid" ;; esac',
].join("\n");

/** The name the watchdog's shell runs under (its `$0`), for `ps`. */
const NAME = "pyro-pool-watchdog";

/**
 * Start the watchdog of a parked VMM (`pid`, started in `dir`): without it, a
 * parked machine lives until some pyro process of the same state dir reaps
 * it, which may be never (the last `pyro run` of the day, a deleted state
 * dir). It outlives the idle time by a grace that lets a live reaper go first.
 * Its command line names `dir`, so a drain's {@link killProcessesUnder} ends
 * it with the machine. Null when it could not start (the pool then relies on
 * its reaper alone).
 */
export async function startParkWatchdog(dir: string, pid: number, pidStartTime: string | undefined, idleMs: number): Promise<ParkWatchdog | null> {
  if (!pidStartTime) return null;
  const idleSeconds = Math.ceil(idleMs / 1000);
  const seconds = idleSeconds + Math.min(30, idleSeconds);
  try {
    // The kernel reports the VMM's cwd resolved; so must the path it is compared with.
    const started = await spawnDetached("/bin/sh", ["-c", SCRIPT, NAME, String(seconds), String(pid), pidStartTime, realpathSync(dir)], {
      stdoutPath: "/dev/null",
      stderrPath: "/dev/null",
      cwd: "/",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    return { pid: started.pid, start_time: started.startTime ?? null };
  } catch {
    return null;
  }
}

/** Stop a watchdog and its `sleep` (its whole process group), if it is still the process that was started. */
export function stopParkWatchdog(watchdog: ParkWatchdog | undefined): void {
  if (!watchdog || !isProcessAlive(watchdog.pid, watchdog.start_time ?? undefined)) return;
  try {
    // detached: the watchdog leads its own group, so its sleep goes with it.
    process.kill(-watchdog.pid, "SIGKILL");
  } catch {
    // Gone meanwhile.
  }
}
