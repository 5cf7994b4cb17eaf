import { ensureEnvironment, type InstalledEnvironment } from "../../environments/index.js";
import type { Backend, BackendName, MachineHandle, MachineSpec } from "../../runtime/backend.js";
import { PyroError } from "../../util/errors.js";
import type { CoreContext } from "../context.js";
import type { RecordStore } from "../store/records.js";
import { environmentOf, killUntracked, machineGone } from "./lifecycle.js";
import { killProcessesUnder, processesUnder } from "../../util/dir-processes.js";
import { existsSync } from "node:fs";

/** How long a status call waits for a record's lock before it leaves strays to the holder (a start in progress). */
const STRAY_LOCK_WAIT_MS = 300;
import { Machine } from "./machine.js";
import { backendFromEnv } from "./select.js";
import { requireUserSupport } from "./image-user.js";

/** The fields every machine-owning record has (VM and workspace records alike). */
export interface MachineRecord {
  schema: number;
  environment: string;
  state: string;
  backend: BackendName;
  handle: MachineHandle | null;
  detail: string | null;
  expires_at: string;
}

/** What a kind of record (VMs, workspaces) tells the fleet about its machines. */
export interface MachineKind<R extends MachineRecord> {
  /** The record's id. */
  idOf(record: R): string;
  /** The machine's spec, but for its environment. */
  specOf(record: R): Omit<MachineSpec, "environment">;
  /** The detail of a record whose machine process died. */
  deadDetail(record: R): string;
}

/** What a new machine is asked for with: the environment and which backend. */
export interface MachineRequest {
  environment: string;
  backend?: BackendName;
  allow_host_compat: boolean;
}

/**
 * The machines of one kind of record: choosing the backend and environment of
 * a new one, reaching a record's machine, noticing dead ones, destroying and
 * reaping. VMs and workspaces each own one; the records stay theirs.
 */
export class MachineFleet<R extends MachineRecord> {
  constructor(
    readonly context: CoreContext,
    readonly records: RecordStore<R>,
    private readonly kind: MachineKind<R>,
  ) {
    // At start, finish the removals a killed delete left half done (their tombstones are
    // invisible to list and status already); close waits for it, so it never outlives the Pyro.
    const swept = sweepQuietly(records);
    context.lifetime.onClose(() => swept);
  }

  /** The backend a new machine gets and its environment, made ready for that backend (once). */
  async resolve(request: MachineRequest): Promise<{ backend: Backend; environment: InstalledEnvironment }> {
    const backend = await this.context.backends.select({
      requested: request.backend ?? backendFromEnv(this.context.config),
      allowHostCompat: request.allow_host_compat,
    });
    const environment = await ensureEnvironment(request.environment, {
      config: this.context.config,
      cacheDir: this.context.cacheDir,
      onProgress: this.context.progress,
      kernel: backend.capabilities.vm_boot,
    });
    // Refused before a record, a machine or a spare exists (the image's User is known once it is pulled).
    requireUserSupport(backend, environment);
    return { backend, environment };
  }

  /**
   * The machine of a record (running or not). With `environment`, the one
   * {@link resolve} just made ready; without, the installed one, or a
   * placeholder when it was pruned (reaching, stopping or destroying a
   * machine never needs it).
   */
  async machine(record: R, environment?: InstalledEnvironment): Promise<Machine> {
    const env = environment ?? (await environmentOf(record.environment, this.context.cacheDir));
    const spec: MachineSpec = { ...this.kind.specOf(record), environment: env };
    return new Machine(this.context, this.context.backends.get(record.backend), spec, record.handle, environment !== undefined);
  }

  /**
   * The record as it is now, and its machine's processes made to match it
   * (the fault matrix, docs/reliability.md): a running record whose machine
   * process died is marked dead and what is left of the machine (a sandbox's
   * agent outliving its bwrap) is killed; a record that says its machine does
   * not run (stopped, created, dead) has nothing of it left running, such as a
   * machine booted by a start whose caller was killed before it recorded it.
   */
  async refreshed(record: R): Promise<R> {
    const id = this.kind.idOf(record);
    if (machineGone(this.context.backends, record)) {
      return this.records.update(id, async (current) => {
        if (!machineGone(this.context.backends, current)) return current;
        await this.killRemains(current);
        return { ...current, state: "dead", detail: this.kind.deadDetail(current) };
      });
    }
    if (record.state === "running" || record.state === "creating") return record;
    const dir = this.kind.specOf(record).dir;
    if (processesUnder(dir).length === 0) return record;
    // Strays under a record that says nothing runs. A start in progress elsewhere holds
    // the lock: leave its machine alone; with the lock free, they are orphans.
    return this.records
      .locked(
        id,
        async () => {
          const current = await this.records.read(id);
          if (current.state !== "running" && current.state !== "creating") await this.killRemains(current);
          return current;
        },
        STRAY_LOCK_WAIT_MS,
      )
      .catch((error: unknown) => {
        if (error instanceof PyroError && error.code === "busy") return record;
        throw error;
      });
  }

  /** Kill the record's machine by its handle and whatever else runs from its directory (nothing is removed). */
  private async killRemains(record: R): Promise<void> {
    if (record.handle) await this.context.backends.get(record.backend).kill(record.handle);
    await killUntracked({ spec: { ...this.kind.specOf(record), environment: { name: record.environment, dir: "", rootfsDir: "", rootImage: "" } } });
  }

  /**
   * Kill the machine and remove the record with all its files. `known` is
   * the machine as the caller just used it; without it, the record on disk
   * says what to kill (and the machine directory what else still runs).
   */
  async destroy(id: string, known?: Machine): Promise<void> {
    if (known) {
      await known.destroy();
    } else {
      const record = await this.records.read(id).catch(() => undefined);
      if (record) await (await this.machine(record)).destroy();
    }
    await this.records.remove(id);
  }

  /** Delete a record that must exist (`not_found` otherwise) with its machine and files. */
  async delete(id: string): Promise<void> {
    try {
      await this.records.read(id);
    } catch (error) {
      // A create killed before its first record write leaves a directory without a record (a delete cannot:
      // it renames the directory away in one step). Finish it rather than call the id unknown.
      if (error instanceof PyroError && error.code === "not_found" && existsSync(this.records.dir(id))) {
        await killProcessesUnder(this.records.dir(id));
        await this.records.remove(id);
        return;
      }
      throw error;
    }
    await this.destroy(id);
  }

  /**
   * Destroy every record that `expired` says is due at `now`, deciding again
   * under its lock (a use may have extended it since). Returns their ids.
   */
  async reap(expired: (record: R, now: number) => boolean, now = Date.now()): Promise<string[]> {
    const reaped: string[] = [];
    await sweepQuietly(this.records);
    for (const id of await this.records.ids()) {
      const record = await this.records.read(id).catch(() => undefined);
      if (!record || !expired(record, now)) continue;
      const done = await this.records
        .locked(id, async () => {
          if (!expired(await this.records.read(id), now)) return false;
          await this.destroy(id);
          return true;
        })
        .catch((error: unknown) => {
          // Deleted by someone else meanwhile: nothing left to reap.
          if (error instanceof PyroError && error.code === "not_found") return false;
          throw error;
        });
      if (done) reaped.push(id);
    }
    return reaped;
  }
}

/**
 * Sweep a store's tombstones. A failure is not the caller's: the ids are gone
 * already, and the files left are invisible and tried again at the next sweep.
 */
async function sweepQuietly(records: RecordStore<{ schema: number }>): Promise<void> {
  await records.sweep().catch(() => undefined);
}
