import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** The cgroup controllers the sandbox limits. */
export type Controller = "memory" | "cpu" | "pids";

const CONTROLLERS: readonly Controller[] = ["memory", "cpu", "pids"];

/** Where one controller is mounted and under which directory pyro makes its groups. */
export interface Hierarchy {
  controller: Controller;
  version: 1 | 2;
  /** The cgroup2 mount point (v2), or the controller's v1 mount point. */
  mount: string;
  /** `<base>/<machine id>` is a machine's group. */
  base: string;
}

/** The limits one machine's group gets. */
export interface GroupLimits {
  memMib: number;
  vcpuCount: number;
  pidsMax: number;
}

/** A machine's cgroup(s): one directory per hierarchy that holds a controller. */
export interface MachineCgroup {
  /** Group directories, one per distinct hierarchy (v1 mounts each controller apart). */
  dirs: string[];
  /** The controllers whose limit was written; the others are not enforced. */
  enforced: Controller[];
}

/** CFS period: quota = vCPUs × period gives the machine at most that many CPUs' worth of time. */
const CPU_PERIOD_US = 100_000;

/** A group with no process that is older than this was left by a crash or a process-tied machine: removable. */
const STALE_GROUP_MS = 60_000;

/**
 * Find, per controller, the hierarchy this process can create groups in:
 * cgroup v2 where the unified mount lists the controller in
 * `cgroup.controllers`, else the controller's own v1 mount (hybrid hosts mount
 * both). v1 groups nest under this process's own group, so whatever limits
 * its caller lives under still apply; v2 groups go under `<mount>/pyro`
 * (v2 forbids processes in a group whose controllers are delegated to children).
 */
export function findHierarchies(
  mountinfo = readText("/proc/self/mountinfo"),
  selfCgroup = readText("/proc/self/cgroup"),
): Hierarchy[] {
  const found: Hierarchy[] = [];
  const mounts = mountinfo.split("\n").flatMap((line) => {
    const [left, right] = line.split(" - ");
    if (!left || !right) return [];
    const fields = left.split(" ");
    const [fstype, , superOptions = ""] = right.split(" ");
    return [{ root: unescapeMount(fields[3] ?? "/"), point: unescapeMount(fields[4] ?? ""), fstype, options: superOptions.split(",") }];
  });
  const selfPaths = selfCgroup.split("\n").flatMap((line) => {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    return match ? [{ controllers: match[2]!.split(","), path: match[3]! }] : [];
  });
  const unified = mounts.find((m) => m.fstype === "cgroup2");
  const unifiedControllers = unified ? readText(join(unified.point, "cgroup.controllers")).trim().split(/\s+/) : [];
  for (const controller of CONTROLLERS) {
    if (unified && unifiedControllers.includes(controller)) {
      found.push({ controller, version: 2, mount: unified.point, base: join(unified.point, "pyro") });
      continue;
    }
    const mount = mounts.find((m) => m.fstype === "cgroup" && m.options.includes(controller));
    const self = selfPaths.find((p) => p.controllers.includes(controller));
    if (!mount || !self) continue;
    const relative = mount.root !== "/" && self.path.startsWith(mount.root) ? self.path.slice(mount.root.length) : self.path;
    found.push({ controller, version: 1, mount: mount.point, base: join(mount.point, relative, "pyro") });
  }
  return found;
}

/**
 * Make the group(s) of machine `id` and write its limits. A controller whose
 * group or limit cannot be written is left out of `enforced` (never claimed).
 * Needs root (or a delegated hierarchy); unprivileged callers get nothing.
 */
export async function createMachineCgroup(id: string, limits: GroupLimits, hierarchies = findHierarchies()): Promise<MachineCgroup> {
  const dirs = new Set<string>();
  const enforced: Controller[] = [];
  for (const hierarchy of hierarchies) {
    const dir = join(hierarchy.base, id);
    try {
      if (hierarchy.version === 2) await delegate(hierarchy);
      await mkdir(dir, { recursive: true });
      dirs.add(dir);
      for (const [file, value] of limitFiles(hierarchy, dir, limits)) await writeFile(join(dir, file), value);
      enforced.push(hierarchy.controller);
    } catch {
      // Not root, a read-only cgroupfs, or a controller not delegated to us: that limit is not enforced.
    }
  }
  return { dirs: [...dirs], enforced };
}

/** The limit files of one controller, in the order they must be written. */
function limitFiles(hierarchy: Hierarchy, dir: string, limits: GroupLimits): Array<[string, string]> {
  const bytes = String(limits.memMib * 1024 * 1024);
  switch (hierarchy.controller) {
    case "memory":
      return hierarchy.version === 2
        ? [["memory.max", bytes], ...optional(dir, "memory.swap.max", "0")]
        : // memsw (memory + swap) must stay >= the memory limit: set it after.
          [["memory.limit_in_bytes", bytes], ...optional(dir, "memory.memsw.limit_in_bytes", bytes)];
    case "cpu": {
      const quota = String(limits.vcpuCount * CPU_PERIOD_US);
      return hierarchy.version === 2
        ? [["cpu.max", `${quota} ${CPU_PERIOD_US}`]]
        : [["cpu.cfs_period_us", String(CPU_PERIOD_US)], ["cpu.cfs_quota_us", quota]];
    }
    case "pids":
      return [["pids.max", String(limits.pidsMax)]];
  }
}

function optional(dir: string, file: string, value: string): Array<[string, string]> {
  return existsSync(join(dir, file)) ? [[file, value]] : [];
}

/** v2: the controller must be enabled in every ancestor's `cgroup.subtree_control` down to pyro's groups. */
async function delegate(hierarchy: Hierarchy): Promise<void> {
  const enable = async (dir: string): Promise<void> => {
    const current = await readFile(join(dir, "cgroup.subtree_control"), "utf8");
    if (!current.split(/\s+/).includes(hierarchy.controller)) await writeFile(join(dir, "cgroup.subtree_control"), `+${hierarchy.controller}`);
  };
  await enable(hierarchy.mount);
  await mkdir(hierarchy.base, { recursive: true });
  await enable(hierarchy.base);
}

/** Every `cgroup.procs` a launcher must write its own pid to, so all it forks starts inside. */
export function procsFiles(group: MachineCgroup): string[] {
  return group.dirs.map((dir) => join(dir, "cgroup.procs"));
}

/**
 * Remove a machine's groups once its processes are gone. The kernel refuses
 * (EBUSY) while a dying process is still in one, so retry for a moment.
 */
export async function removeMachineCgroup(dirs: readonly string[], timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const dir of dirs) {
    for (;;) {
      try {
        await rmdir(dir);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || Date.now() >= deadline) break;
        await sleep(20);
      }
    }
  }
}

/**
 * Remove empty groups left behind: machines tied to a process that exited
 * (warm spares die with it, after its last chance to clean up) or a crash
 * before the record kept the handle. Young groups are skipped: their launcher
 * may not have joined yet.
 */
export async function sweepStaleCgroups(hierarchies = findHierarchies(), now = Date.now()): Promise<void> {
  for (const base of new Set(hierarchies.map((h) => h.base))) {
    let names: string[];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(base, name);
      try {
        if (!statSync(dir).isDirectory() || now - statSync(dir).mtimeMs < STALE_GROUP_MS) continue;
        if (readFileSync(join(dir, "cgroup.procs"), "utf8").trim() !== "") continue;
        await rmdir(dir);
      } catch {
        // Not a group, busy, or gone meanwhile.
      }
    }
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** mountinfo escapes spaces and a few other bytes as octal (`\040`). */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
