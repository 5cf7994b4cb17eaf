import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, rename, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import type { AgentClient } from "../../agent-client/index.js";
import type { Backend, MachineHandle, MachineSpec, ParkedState } from "../../runtime/backend.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { killProcessesUnder } from "../../util/dir-processes.js";
import { toPyroError } from "../../util/errors.js";
import { withLock } from "../../util/lock.js";
import { isProcessAlive, processStartTime, sleep } from "../../util/process.js";
import { StartGate } from "../../util/start-gate.js";
import { outsideCall } from "../call-scope.js";
import type { CoreContext } from "../context.js";
import { BOOT_TIMEOUT_MS } from "../machines/lifecycle.js";
import { startParkWatchdog, stopParkWatchdog, type ParkWatchdog } from "./watchdog.js";

/** The file that makes a directory under `<state>/pool/` a pool entry. */
const ENTRY_FILE = "pool.json";
/** How long a taker waits for a pooled machine that is still restoring. */
const RESTORE_WAIT_MS = 15_000;
/** A directory without an entry file older than this is a leftover (its maker died before writing it). */
const ORPHAN_GRACE_MS = 60_000;

/** What `<state>/pool/<id>/pool.json` holds. */
export interface PoolEntry {
  schema: 1;
  pool_id: string;
  /** The shape it stands in for (Parking.parkKey). */
  key: string;
  backend: string;
  created_at: string;
  /** The process that parks it; while `handle` is null its death makes the entry a leftover. */
  creator: { pid: number; start_time: string | null };
  handle: MachineHandle | null;
  /** What ends the machine after its idle time when no pyro process reaps it (watchdog.ts); absent in older entries. */
  watchdog?: ParkWatchdog | null;
  environment: string;
  vcpu_count: number;
  mem_mib: number;
  root_disk: "overlay" | "raw";
}

/** One pooled machine as `pool status` reports it. */
export interface PooledMachine {
  pool_id: string;
  backend: string;
  environment: string;
  vcpu_count: number;
  mem_mib: number;
  root_disk: "overlay" | "raw";
  state: Exclude<ParkedState, "held"> | "starting";
  age_seconds: number;
  pid: number | null;
  /** Resident memory of its VMM process, or null when unknown. */
  rss_bytes: number | null;
}

/** What a machine's boot asks the pool to make again once the operation ended. */
interface Pending {
  backend: Backend;
  spec: MachineSpec;
}

const pools = new WeakMap<CoreContext, MachinePool>();

/** The pool of a core context (one per `Pyro`; they all share `<state>/pool`). */
export function poolOf(context: CoreContext): MachinePool {
  let pool = pools.get(context);
  if (!pool) {
    pool = new MachinePool(context);
    pools.set(context, pool);
  }
  return pool;
}

/**
 * Machines restored from their shape's boot state and held paused, shared by
 * every process of one state dir (`<state>/pool/`, one directory per machine,
 * a lock file around every change). A boot of a fresh machine takes one of its
 * shape (moving its directory into the machine's and letting it run with the
 * machine's identity) and asks for a refill, which runs after the operation
 * ended ({@link flush}): never beside the command. Entries past
 * `PYRO_POOL_IDLE_SECONDS`, dead ones and leftovers of killed makers are
 * dropped by {@link reap}, which every pool call runs first. See docs/pool.md.
 */
export class MachinePool {
  readonly root: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sessions = new Map<string, AgentClient>();
  /** The refills started in the background, one after the other. */
  private flushing: Promise<void> = Promise.resolve();
  /** What holds back the machines of a refill started while an operation runs, until it ended ({@link flushInBackground}). */
  private gate: StartGate | null = null;

  constructor(private readonly context: CoreContext) {
    this.root = join(context.stateDir, "pool");
    context.lifetime.onClose(() => this.settled());
  }

  /** Whether pooling is on (`PYRO_POOL_SIZE` > 0) for `backend`. */
  enabled(backend: Backend): boolean {
    return this.context.config.pool.size > 0 && backend.parking !== undefined;
  }

  /**
   * A pooled machine of `spec`'s shape, moved into `spec.dir` and running with
   * `spec`'s identity; null when there is none (or it failed: the caller
   * starts a machine itself). Registers a refill of the shape either way.
   */
  async take(backend: Backend, spec: MachineSpec, progress: (line: string) => void): Promise<MachineHandle | null> {
    const taken = await this.takeMachine(backend, spec, progress);
    if (!taken) return null;
    // The session that activated it serves the machine's first request (Machine.session), or is closed after the operation.
    this.sessions.set(spec.id, taken.session);
    if (this.context.exitsAfterCall) this.refillDuringOperation();
    return taken.handle;
  }

  /**
   * Start the refill now, while the taker's command runs, with its machines
   * held at a gate until the operation ends: the host part (the lock, the
   * spawns, about 20 ms) overlaps the guest's work instead of following it,
   * and the restores still never run beside the command. Only in a process
   * that exits after its call (the CLI), whose exit would wait for the
   * refill: in a long-lived one the spawns (forks of a large process) would
   * only slow the command's result down, and the refill after it costs no
   * caller anything.
   */
  private refillDuringOperation(): void {
    const gate = (this.gate ??= new StartGate());
    // The refill outlives the call: it must not report to it, nor be cancelled with it.
    this.flushing = outsideCall(() => this.flushing.then(() => this.flush(gate)));
  }

  /** The open session of a machine just taken, once; the caller closes it. */
  claimSession(machineId: string): AgentClient | undefined {
    const session = this.sessions.get(machineId);
    this.sessions.delete(machineId);
    return session && !session.closed ? session : undefined;
  }

  /** Close the sessions of taken machines that no request used (after each operation). */
  closeSessions(): void {
    for (const session of this.sessions.values()) void session.close();
    this.sessions.clear();
  }

  private async takeMachine(backend: Backend, spec: MachineSpec, progress: (line: string) => void): Promise<{ handle: MachineHandle; session: AgentClient } | null> {
    const parking = backend.parking;
    if (!parking || !this.enabled(backend)) return null;
    this.pending.set(JSON.stringify([backend.name, spec.environment.name, spec.vcpuCount, spec.memMib, spec.network, spec.rootDisk ?? "overlay"]), { backend, spec });
    const key = await parking.parkKey(spec);
    if (!key || !existsSync(this.root)) return null;
    const parked = await this.locked(async () => {
      await this.sweep();
      for (const entry of this.entries().filter((e) => e.key === key && e.backend === backend.name && e.handle)) {
        const dir = join(this.root, entry.pool_id);
        const handle = entry.handle!;
        let state = await parking.parkedState(handle, dir);
        const until = Date.now() + RESTORE_WAIT_MS;
        while (state === "restoring" && Date.now() < until) {
          await sleep(10);
          state = await parking.parkedState(handle, dir);
        }
        // Held at its maker's gate until that maker's call ends, which may be long: another machine's business.
        if (state === "held") continue;
        if (state !== "ready") {
          await this.drop(backend, entry);
          continue;
        }
        try {
          // Boot made the machine's directory; an empty one is replaced by the pooled machine's.
          if (existsSync(spec.dir)) await rmdir(spec.dir);
          await rename(dir, spec.dir);
        } catch {
          return null;
        }
        // Taken: its watchdog would leave it alone (the VMM's cwd moved), but need not sleep on.
        stopParkWatchdog(entry.watchdog ?? undefined);
        await rm(join(spec.dir, ENTRY_FILE), { force: true });
        return { entry, handle };
      }
      return null;
    });
    if (!parked) return null;
    progress(`phase=pool-take pool_id=${parked.entry.pool_id} age_ms=${Date.now() - Date.parse(parked.entry.created_at)}`);
    try {
      return await parking.unpark(spec, parked.handle, { bootTimeoutMs: BOOT_TIMEOUT_MS, onProgress: progress });
    } catch (error) {
      progress(`phase=pool-take-failed error=${JSON.stringify(toPyroError(error).message.split("\n")[0])}`);
      await backend.kill(parked.handle).catch(() => undefined);
      await backend.cleanup(spec).catch(() => undefined);
      return null;
    }
  }

  /**
   * {@link flush} without making the caller wait: the operation's result goes
   * out at once, the refill (a few ms of host work: the lock, two spawns)
   * follows. A process does not exit before it is done (its I/O keeps the
   * event loop alive); {@link settled} waits for it.
   */
  flushInBackground(): void {
    if (this.pending.size > 0) this.flushing = this.flushing.then(() => this.flush());
    // The operation ended: what a refill during it started may go on (those still starting go at once).
    this.gate?.open();
    this.gate = null;
  }

  /** Wait for the background refills started so far. */
  settled(): Promise<void> {
    return this.flushing;
  }

  /**
   * Refill the shapes booted since the last flush, each to `PYRO_POOL_SIZE`
   * machines. Runs after an operation ended; parking only starts detached
   * processes, so this costs milliseconds. Failures cost only the pool.
   */
  async flush(gate?: StartGate): Promise<void> {
    if (this.pending.size === 0) return;
    const wanted = [...this.pending.values()];
    this.pending.clear();
    // Reported once the gate opens: not in the middle of the operation's own output.
    const report = (line: string) => (gate ? gate.whenOpen(() => this.context.progress(line)) : this.context.progress(line));
    for (const { backend, spec } of wanted) {
      try {
        await this.refill(backend, spec, gate, report);
      } catch (error) {
        report(`[pool] phase=refill-failed error=${JSON.stringify(toPyroError(error).message.split("\n")[0])}`);
      }
    }
  }

  /**
   * Park machines of `template`'s shape until the pool holds `PYRO_POOL_SIZE`
   * of it; with `gate`, their restores wait until it opens.
   */
  async refill(backend: Backend, template: MachineSpec, gate?: StartGate, report: (line: string) => void = this.context.progress): Promise<string[]> {
    const parking = backend.parking;
    if (!parking || !this.enabled(backend)) return [];
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const made: string[] = [];
    await this.locked(async () => {
      await this.sweep();
      const probe = { ...template, dir: join(this.root, "probe-not-made") };
      const key = await parking.parkKey(probe);
      if (!key) return;
      const have = this.entries().filter((e) => e.key === key && e.backend === backend.name).length;
      for (let i = have; i < this.context.config.pool.size; i++) {
        const poolId = `pool-${randomBytes(6).toString("hex")}`;
        const dir = join(this.root, poolId);
        const entry: PoolEntry = {
          schema: 1,
          pool_id: poolId,
          key,
          backend: backend.name,
          created_at: new Date().toISOString(),
          creator: { pid: process.pid, start_time: processStartTime(process.pid) ?? null },
          handle: null,
          environment: template.environment.name,
          vcpu_count: template.vcpuCount,
          mem_mib: template.memMib,
          root_disk: template.rootDisk ?? "overlay",
        };
        await mkdir(dir, { mode: 0o700 });
        await writeFileAtomic(join(dir, ENTRY_FILE), JSON.stringify(entry), { durable: false });
        try {
          const handle = await parking.park({ ...template, id: poolId, dir, hostname: poolId }, gate ? { gate } : {});
          const watchdog = await startParkWatchdog(dir, handle.pid, handle.pidStartTime, this.context.config.pool.idleMs);
          await writeFileAtomic(join(dir, ENTRY_FILE), JSON.stringify({ ...entry, handle, watchdog }), { durable: false });
        } catch (error) {
          await killProcessesUnder(dir);
          await rm(dir, { recursive: true, force: true });
          throw error;
        }
        made.push(poolId);
        report(`[pool] phase=parked pool_id=${poolId} environment=${entry.environment}`);
      }
    });
    return made;
  }

  /** Every pooled machine; reads only (what is due is dropped by the next {@link reap}, take or refill). */
  async status(): Promise<PooledMachine[]> {
    if (!existsSync(this.root)) return [];
    return this.locked(async () => {
      const now = Date.now();
      const out: PooledMachine[] = [];
      for (const entry of this.entries()) {
        const backend = this.backendOf(entry);
        const parked = !entry.handle ? "starting" : backend?.parking ? await backend.parking.parkedState(entry.handle, join(this.root, entry.pool_id)) : "failed";
        // Held at its maker's gate: still being made, as far as a caller can tell.
        const state = parked === "held" ? "starting" : parked;
        out.push({
          pool_id: entry.pool_id,
          backend: entry.backend,
          environment: entry.environment,
          vcpu_count: entry.vcpu_count,
          mem_mib: entry.mem_mib,
          root_disk: entry.root_disk,
          state,
          age_seconds: Math.max(0, Math.round((now - Date.parse(entry.created_at)) / 1000)),
          pid: entry.handle?.pid ?? null,
          rss_bytes: entry.handle ? rssOf(entry.handle.pid) : null,
        });
      }
      return out;
    });
  }

  /** The settings and how many machines the pool holds now; reads only (doctor). */
  summary(): { size: number; idle_seconds: number; count: number } {
    const { size, idleMs } = this.context.config.pool;
    return { size, idle_seconds: Math.round(idleMs / 1000), count: this.entries().length };
  }

  /** Kill every pooled machine and remove it; returns their ids. */
  async drain(): Promise<string[]> {
    if (!existsSync(this.root)) return [];
    return this.locked(async () => {
      await this.sweep();
      const drained: string[] = [];
      for (const entry of this.entries()) {
        await this.drop(this.backendOf(entry), entry);
        drained.push(entry.pool_id);
      }
      return drained;
    });
  }

  /** Drop what is due: machines idle past `PYRO_POOL_IDLE_SECONDS`, dead ones, leftovers of killed makers. Returns their ids. */
  async reap(): Promise<string[]> {
    if (!existsSync(this.root)) return [];
    return this.locked(() => this.sweep());
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(join(this.root, ".lock"), fn, { timeoutMs: 60_000, pollMs: 20 });
  }

  /** The entries of the pool directory, oldest first (unreadable ones skipped: {@link sweep} handles them). */
  private entries(): PoolEntry[] {
    const out: PoolEntry[] = [];
    for (const name of poolDirs(this.root)) {
      const entry = readEntry(join(this.root, name));
      if (entry) out.push(entry);
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Under the lock: drop entries past their idle time, dead ones, and directories no live maker owns. */
  private async sweep(): Promise<string[]> {
    const dropped: string[] = [];
    const now = Date.now();
    for (const name of poolDirs(this.root)) {
      const dir = join(this.root, name);
      const entry = readEntry(dir);
      if (!entry) {
        let age = Infinity;
        try {
          age = now - statSync(dir).mtimeMs;
        } catch {
          continue;
        }
        if (age > ORPHAN_GRACE_MS) {
          await killProcessesUnder(dir);
          await rm(dir, { recursive: true, force: true });
          dropped.push(name);
        }
        continue;
      }
      const makerGone = !entry.handle && !isProcessAlive(entry.creator.pid, entry.creator.start_time ?? undefined);
      const dead = entry.handle !== null && !isProcessAlive(entry.handle.pid, entry.handle.pidStartTime);
      const idle = now - Date.parse(entry.created_at) > this.context.config.pool.idleMs;
      if (makerGone || dead || idle) {
        await this.drop(this.backendOf(entry), entry);
        dropped.push(entry.pool_id);
      }
    }
    return dropped;
  }

  /** Kill a pooled machine (and anything its directory still runs) and remove its directory. */
  private async drop(backend: Backend | undefined, entry: PoolEntry): Promise<void> {
    const dir = join(this.root, entry.pool_id);
    if (entry.handle && backend) await backend.kill(entry.handle).catch(() => undefined);
    await killProcessesUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }

  private backendOf(entry: PoolEntry): Backend | undefined {
    try {
      return this.context.backends.get(entry.backend as Backend["name"]);
    } catch {
      return undefined;
    }
  }
}

/** The machine directories under the pool root (its lock file aside). */
function poolDirs(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name.startsWith("pool-"))
      .map((e) => e.name);
  } catch {
    return [];
  }
}

function readEntry(dir: string): PoolEntry | undefined {
  try {
    const entry = JSON.parse(readFileSync(join(dir, ENTRY_FILE), "utf8")) as PoolEntry;
    return entry.schema === 1 && typeof entry.key === "string" && typeof entry.pool_id === "string" ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** VmRSS of a process in bytes, or null. */
function rssOf(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
