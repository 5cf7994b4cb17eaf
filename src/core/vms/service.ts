import { statSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { LIMITS } from "../../contract/index.js";
import { ensureEnvironment, type InstalledEnvironment } from "../../environments/index.js";
import type { Backend, MachineSpec } from "../../runtime/backend.js";
import { PyroError } from "../../util/errors.js";
import { sparesRoot, vmsRoot, type CoreContext } from "../context.js";
import { checkId, newId } from "../ids.js";
import { BOOT_TIMEOUT_MS, destroyMachine, environmentOf, machineGone, SHUTDOWN_GRACE_MS } from "../machines/lifecycle.js";
import { execShell, shutdownMachine, withAgent, type MachineRef } from "../machines/session.js";
import { backendFromEnv } from "../machines/select.js";
import { RecordStore } from "../store/records.js";
import { isExpired, vmInfo, type VmRecord } from "./record.js";
import { enforcedLimits } from "../machines/limits.js";
import { SpareMachines, type AdoptedSpare } from "./spares.js";


type VmInfo = OperationResult<"statusVm">;
type OneShot = OperationResult<"runInVm">;

/** The VM lifecycle: create, start, exec (then delete), stop, delete, status, TTL. */
export class VmService {
  readonly records: RecordStore<VmRecord>;

  private readonly spares: SpareMachines;

  constructor(private readonly context: CoreContext) {
    this.records = new RecordStore<VmRecord>(vmsRoot(context), "VM", "VM ids look like vm-0123456789ab; a deleted or reaped VM is gone");
    this.spares = new SpareMachines(sparesRoot(context));
  }

  async create(input: ParsedInput<"createVm">, options: { durable?: boolean } = {}): Promise<VmInfo> {
    return vmInfo((await this.createRecord(input, options)).record);
  }

  private async createRecord(
    input: ParsedInput<"createVm">,
    options: { durable?: boolean },
  ): Promise<{ record: VmRecord; environment: InstalledEnvironment }> {
    const { backend, environment } = await this.resolve(input);
    const record = this.newRecord(input, backend, newId("vm"));
    await this.records.create(record.vm_id, record, options);
    return { record, environment };
  }

  /** The backend and installed environment a new VM gets. */
  private async resolve(input: ParsedInput<"createVm">): Promise<{ backend: Backend; environment: InstalledEnvironment }> {
    const backend = await this.context.backends.select({
      requested: input.backend ?? backendFromEnv(this.context.config),
      allowHostCompat: input.allow_host_compat,
    });
    const environment = await ensureEnvironment(input.environment, {
      config: this.context.config,
      cacheDir: this.context.cacheDir,
      onProgress: this.context.progress,
      kernel: backend.capabilities.vm_boot,
    });
    return { backend, environment };
  }

  /** A created (not yet started) VM record. */
  private newRecord(input: ParsedInput<"createVm">, backend: Backend, id: string): VmRecord {
    const now = Date.now();
    return {
      schema: 1,
      vm_id: id,
      environment: input.environment,
      state: "created",
      backend: backend.name,
      execution_mode: backend.capabilities.execution_mode,
      vcpu_count: input.vcpu_count,
      mem_mib: input.mem_mib,
      network: input.network,
      ttl_seconds: input.ttl_seconds,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + input.ttl_seconds * 1000).toISOString(),
      started_at: null,
      handle: null,
      detail: null,
    };
  }

  /** Boot a created VM. */
  async start(vmId: string): Promise<VmInfo> {
    const id = checkId(vmId, "vm", "VM");
    const record = await this.records.update(id, async (current) => {
      const machine = await this.machineFor(current);
      machine.spec.environment = await ensureEnvironment(current.environment, {
        config: this.context.config,
        cacheDir: this.context.cacheDir,
        onProgress: this.context.progress,
        kernel: machine.backend.capabilities.vm_boot,
      });
      return this.boot(current, machine);
    });
    return vmInfo(record);
  }

  /** Start the machine of a record the caller holds the lock of; the record as it is now running. */
  private async boot(current: VmRecord, machine: MachineRef): Promise<VmRecord> {
    if (current.state === "running") {
      throw new PyroError("failed_precondition", `VM ${current.vm_id} is already running`);
    }
    this.context.progress(`[run] phase=start vm_id=${current.vm_id} backend=${current.backend}`);
    const handle = await machine.backend.start(machine.spec, {
      bootTimeoutMs: BOOT_TIMEOUT_MS,
      onProgress: (line) => this.context.progress(`[run] ${line}`),
    });
    return { ...current, state: "running", handle, started_at: new Date().toISOString(), detail: null };
  }

  /** Run one command in a started VM, then delete the VM (`vm_exec`). */
  async exec(input: ParsedInput<"execVm">): Promise<OneShot> {
    const id = checkId(input.vm_id, "vm", "VM");
    const record = await this.refreshed(await this.records.read(id));
    if (record.state !== "running" || !record.handle) {
      throw new PyroError("failed_precondition", `VM ${id} is ${record.state}, not running`, {
        hint: record.state === "created" ? "start it first (vm_start)" : "create a new VM",
      });
    }
    return this.execThenDestroy(record, await this.machineFor(record), input.command, input.timeout_seconds);
  }

  /**
   * create → start → exec → delete, as one call (`vm_run`). The record and
   * machine stay in memory between the steps; the record on disk is there
   * for other processes (status, reaping after a crash), so it needs
   * atomicity, not fsync.
   */
  async run(input: ParsedInput<"runInVm">): Promise<OneShot> {
    this.context.progress(`[run] phase=create environment=${input.environment}`);
    const { backend, environment } = await this.resolve(input);
    const spareKey = this.context.warmSpares && backend.capabilities.warm_spares ? spareKeyOf(backend, environment, input) : null;
    const spare = spareKey ? await this.spares.take(spareKey) : null;
    const fresh = this.newRecord(input, backend, spare?.id ?? newId("vm"));
    const machine = this.machineWith(fresh, environment);
    const running = spare ? await this.adopt(fresh, machine, spare) : await this.bootOneShot(fresh, machine);
    let result: OneShot;
    try {
      result = await this.execThenDestroy(running, { ...machine, handle: running.handle! }, input.command, input.timeout_seconds);
    } finally {
      // After the run, not during it: a spare starting beside the command would slow it down.
      if (spareKey) this.spares.prepare(spareKey, backend, (id, dir) => ({ ...this.machineWith({ ...fresh, vm_id: id }, environment).spec, dir }));
    }
    this.context.progress(
      `[run] environment=${result.environment} execution_mode=${result.execution_mode} exit_code=${result.exit_code} duration_ms=${result.duration_ms}`,
    );
    return result;
  }

  /** Record a one-shot VM as running on a spare started for its id, moving the spare's directory into the record's. */
  private async adopt(fresh: VmRecord, machine: MachineRef, spare: AdoptedSpare): Promise<VmRecord> {
    const running: VmRecord = { ...fresh, state: "running", handle: spare.handle, started_at: new Date().toISOString() };
    try {
      await this.records.create(running.vm_id, running, { durable: false, populate: () => rename(spare.dir, machine.spec.dir) });
    } catch (error) {
      await machine.backend.kill(spare.handle).catch(() => undefined);
      await rm(spare.dir, { recursive: true, force: true });
      await this.destroy(running.vm_id);
      throw error;
    }
    this.context.progress(`[run] phase=start vm_id=${running.vm_id} backend=${running.backend} spare=true`);
    return running;
  }

  /** Create and boot a one-shot VM; its record needs atomicity, not fsync. */
  private async bootOneShot(fresh: VmRecord, machine: MachineRef): Promise<VmRecord> {
    await this.records.create(fresh.vm_id, fresh, { durable: false });
    try {
      return await this.records.locked(fresh.vm_id, async () => {
        const next = await this.boot(fresh, machine);
        await this.records.write(fresh.vm_id, next, { durable: false });
        return next;
      });
    } catch (error) {
      await this.destroy(fresh.vm_id);
      throw error;
    }
  }

  private async execThenDestroy(record: VmRecord, machine: MachineRef, command: string, timeoutSeconds: number): Promise<OneShot> {
    const id = record.vm_id;
    this.context.progress(`[run] phase=execute vm_id=${id}`);
    let result;
    try {
      result = await withAgent(machine, (client) =>
        execShell(client, {
          command,
          cwd: "/workspace",
          timeoutMs: timeoutSeconds * 1000,
          maxOutputBytes: LIMITS.max_output_bytes,
        }),
      );
    } finally {
      await this.destroy(id, machine);
    }
    return {
      vm_id: id,
      environment: record.environment,
      command,
      exit_code: result.exit_code,
      stdout: result.stdout,
      stderr: result.stderr,
      stdout_truncated: result.stdout_truncated,
      stderr_truncated: result.stderr_truncated,
      timed_out: result.timed_out,
      duration_ms: result.duration_ms,
      backend: record.backend,
      execution_mode: record.execution_mode,
      limits_enforced: enforcedLimits({ execution_mode: record.execution_mode, handle: machine.handle }),
      cleanup: { deleted: true, reason: "post_exec_cleanup", vm_id: id },
    };
  }

  async stop(vmId: string): Promise<VmInfo> {
    const id = checkId(vmId, "vm", "VM");
    const record = await this.records.update(id, async (current) => {
      if (current.handle) {
        const machine = await this.machineFor(current);
        await shutdownMachine(machine, SHUTDOWN_GRACE_MS);
        await machine.backend.cleanup(machine.spec);
      }
      return { ...current, state: "stopped", handle: null };
    });
    return vmInfo(record);
  }

  async delete(vmId: string): Promise<{ vm_id: string; deleted: boolean }> {
    const id = checkId(vmId, "vm", "VM");
    await this.records.read(id);
    await this.destroy(id);
    return { vm_id: id, deleted: true };
  }

  async status(vmId: string): Promise<VmInfo> {
    const id = checkId(vmId, "vm", "VM");
    return vmInfo(await this.refreshed(await this.records.read(id)));
  }

  async networkInfo(vmId: string): Promise<OperationResult<"networkInfoVm">> {
    const record = await this.refreshed(await this.records.read(checkId(vmId, "vm", "VM")));
    return {
      vm_id: record.vm_id,
      network_enabled: record.network,
      policy: record.network ? "egress" : "off",
      backend: record.backend,
      guest_ip: record.handle?.guest_ip ?? null,
      published_ports: [],
    };
  }

  /** Delete every VM whose TTL has passed; returns their ids. */
  async reapExpired(now = Date.now()): Promise<string[]> {
    const reaped: string[] = [];
    for (const id of await this.records.ids()) {
      let record: VmRecord;
      try {
        record = await this.records.read(id);
      } catch {
        continue;
      }
      if (isExpired(record, now)) {
        await this.destroy(id);
        reaped.push(id);
      }
    }
    return reaped;
  }

  /** Mark a running record dead when its machine process is gone. */
  private async refreshed(record: VmRecord): Promise<VmRecord> {
    if (!machineGone(this.context.backends, record)) return record;
    return this.records.update(record.vm_id, (current) => ({
      ...current,
      state: "dead",
      detail: `the ${current.backend} process (pid ${current.handle?.pid}) exited unexpectedly`,
    }));
  }

  /**
   * Kill the machine if needed and remove the record and all its files.
   * `known` is the machine as the caller just used it; without it, the
   * record on disk says what to kill.
   */
  private async destroy(id: string, known?: MachineRef): Promise<void> {
    if (known) {
      await destroyMachine(known, known.handle);
    } else {
      const record = await this.records.read(id).catch(() => undefined);
      if (record) await destroyMachine(await this.machineFor(record), record.handle);
    }
    await this.records.remove(id);
  }

  private async machineFor(record: VmRecord): Promise<MachineRef> {
    return this.machineWith(record, await environmentOf(record.environment, this.context.cacheDir));
  }

  private machineWith(record: VmRecord, environment: InstalledEnvironment): MachineRef {
    const backend: Backend = this.context.backends.get(record.backend);
    const spec: MachineSpec = {
      id: record.vm_id,
      dir: join(this.records.dir(record.vm_id), "machine"),
      environment,
      vcpuCount: record.vcpu_count,
      memMib: record.mem_mib,
      network: record.network ? "egress" : "off",
      publishedPorts: [],
      hostname: record.vm_id,
    };
    return { backend, spec, handle: record.handle ?? { backend: record.backend, pid: 0 } };
  }
}

/**
 * What a spare must match to stand in for a new VM: backend, machine shape,
 * network, and the installed environment (its manifest changes when it is
 * re-pulled or its agent refreshed).
 */
function spareKeyOf(backend: Backend, environment: InstalledEnvironment, input: ParsedInput<"createVm">): string {
  let installed = 0;
  try {
    installed = statSync(join(environment.dir, "manifest.json")).mtimeMs;
  } catch {
    // No manifest: the key still separates environments by name.
  }
  return JSON.stringify([backend.name, environment.name, installed, input.vcpu_count, input.mem_mib, input.network]);
}
