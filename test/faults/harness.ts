import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { liveProcesses, pidsMentioning, sandboxAgentsUnder } from "../helpers/processes.js";
import { TEST_CACHE_DIR } from "../helpers/env.js";
import { Pyro, PyroError } from "../../src/index.js";

/** What a machine of the matrix is. */
export type Kind = "workspace" | "vm";
/** Who is killed: the VMM or sandbox process, the guest agent, or the SDK process running the operation. */
export type Victim = "vmm" | "agent" | "sdk";

const CHILD = fileURLToPath(new URL("./op-child.mjs", import.meta.url));

/** An operation running in a child SDK process. */
export interface RunningOp {
  pid: number;
  /** Resolves once the child says it is calling the operation (ms since spawn). */
  calling: Promise<number>;
  /** Resolves when the child is gone: exit code (null when killed) and its stdout. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Run one SDK method in a child process (test/faults/op-child.mjs). */
export function runOp(stateDir: string, method: string, input: Record<string, unknown>): RunningOp {
  const child = spawn(process.execPath, [CHILD, stateDir, TEST_CACHE_DIR, method, JSON.stringify(input)], { stdio: ["ignore", "pipe", "pipe"] });
  const started = Date.now();
  let stdout = "";
  let stderr = "";
  let markCalling: (ms: number) => void = () => undefined;
  const calling = new Promise<number>((resolve) => (markCalling = resolve));
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
    if (stderr.includes("CALLING")) markCalling(Date.now() - started);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => {
      markCalling(Date.now() - started);
      resolve({ code, stdout, stderr });
    }),
  );
  return { pid: child.pid as number, calling, done };
}

/** Call one SDK method of `pyro` (this process): its result, or its error's JSON with code 1 (70: not a PyroError). */
export async function tryOp(pyro: Pyro, method: string, input: Record<string, unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    const call = (pyro as unknown as Record<string, (input: unknown) => Promise<Record<string, unknown>>>)[method] as (input: unknown) => Promise<Record<string, unknown>>;
    return { code: 0, body: await call.call(pyro, input) };
  } catch (error) {
    if (error instanceof PyroError) return { code: 1, body: error.toJSON() as unknown as Record<string, unknown> };
    return { code: 70, body: { error: { code: "not-a-pyro-error", message: String(error) } } };
  }
}

/** Call one SDK method; throw when it fails. */
export async function op<T>(pyro: Pyro, method: string, input: Record<string, unknown>): Promise<T> {
  const run = await tryOp(pyro, method, input);
  if (run.code !== 0) throw new Error(`${method} ${JSON.stringify(input)} failed: ${JSON.stringify(run.body)}`);
  return run.body as T;
}

/** The ids of machines of `kind` that have a directory in the state dir. */
export function machineIds(stateDir: string, kind: Kind): string[] {
  const root = join(stateDir, kind === "vm" ? "vms" : "workspaces");
  return existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith(".")) : [];
}

/** The tombstones under a record root: directories a delete renamed away and has not removed yet. */
export function tombstones(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((n) => n.startsWith(".trash-")) : [];
}

function recordOf(stateDir: string, kind: Kind, id: string): { handle?: { pid?: number; agentPid?: number } | null } | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, kind === "vm" ? "vms" : "workspaces", id, "record.json"), "utf8")) as { handle?: { pid?: number; agentPid?: number } };
  } catch {
    return undefined;
  }
}

/**
 * The host pids of a victim among the machines under `stateDir` right now:
 * the VMM (qemu-system-x86_64, or the sandbox's bwrap), or the sandbox's
 * agent (the namespace's PID 1). The records' handles name them once written;
 * before that (mid-boot) the process table does.
 */
export function victimPids(stateDir: string, kind: Kind, victim: "vmm" | "agent"): number[] {
  const found = new Set<number>();
  for (const id of machineIds(stateDir, kind)) {
    const handle = recordOf(stateDir, kind, id)?.handle;
    const pid = victim === "vmm" ? handle?.pid : handle?.agentPid;
    if (typeof pid === "number" && existsSync(`/proc/${pid}`)) found.add(pid);
  }
  if (found.size === 0) {
    if (victim === "agent") for (const pid of sandboxAgentsUnder(stateDir)) found.add(pid);
    else
      for (const p of liveProcesses()) {
        const exe = (p.argv[0] ?? "").split("/").pop() ?? "";
        // Not the KVM probe boot (a qemu under the state dir's .kvm-probe-*): it is no machine's VMM.
        if ((exe.startsWith("qemu-system") || exe === "bwrap") && p.argv.some((a) => a.includes(stateDir)) && !p.argv.some((a) => a.includes(".kvm-probe-"))) found.add(p.pid);
      }
  }
  return [...found];
}

/** Wait until `check` holds or `ms` pass; returns whether it held. */
export async function until(check: () => boolean, ms: number, every = 20): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Every record file under the state dir that does not parse as JSON. */
export function unreadableRecords(stateDir: string): string[] {
  const bad: string[] = [];
  for (const kind of ["vm", "workspace"] as const) {
    for (const id of machineIds(stateDir, kind)) {
      const file = join(stateDir, kind === "vm" ? "vms" : "workspaces", id, "record.json");
      if (!existsSync(file)) continue;
      try {
        JSON.parse(readFileSync(file, "utf8"));
      } catch {
        bad.push(file);
      }
    }
  }
  return bad;
}

/**
 * What is left of machines after delete: processes (by command line or
 * overlay mount), mounts, cgroups, sockets and other files under the state
 * dir's machine folders. Empty means clean.
 */
export function leftovers(stateDir: string, ids: Iterable<string>): string[] {
  const left: string[] = [];
  for (const pid of pidsMentioning(stateDir)) left.push(`process ${pid}`);
  for (const pid of sandboxAgentsUnder(stateDir)) left.push(`sandbox agent ${pid}`);
  if (readFileSync("/proc/self/mountinfo", "utf8").includes(stateDir)) left.push("mount under the state dir");
  for (const kind of ["vm", "workspace"] as const) for (const id of machineIds(stateDir, kind)) left.push(`${kind} directory ${id}`);
  for (const root of ["vms", "workspaces"]) for (const name of tombstones(join(stateDir, root))) left.push(`tombstone ${root}/${name}`);
  for (const group of cgroupsNamed(new Set(ids))) left.push(`cgroup ${group}`);
  for (const file of walk(stateDir)) if (/\.(sock|partial|tmp)$|\.tmp-/.test(file)) left.push(`file ${file}`);
  return left;
}

/** The sandbox cgroups (every hierarchy pyro uses) named after one of `ids`. */
function cgroupsNamed(ids: Set<string>): string[] {
  const left: string[] = [];
  const roots: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    const mount = fields[4];
    if (mount?.startsWith("/sys/fs/cgroup")) roots.push(mount);
  }
  for (const root of roots) {
    for (const candidate of [join(root, "pyro"), ...subPyroDirs(root)]) {
      if (!existsSync(candidate)) continue;
      for (const name of readdirSync(candidate)) if (ids.has(name)) left.push(join(candidate, name));
    }
  }
  return left;
}
function subPyroDirs(root: string): string[] {
  // cgroup v1 memory groups sit under this process's own group (…/process_api/<id>/pyro).
  try {
    const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").map((l) => l.split(":")[2] ?? "").filter((p) => p && p !== "/");
    return own.map((p) => join(root, p, "pyro"));
  } catch {
    return [];
  }
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      continue;
    }
    if (isDir) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}
