import { networkPolicyOf } from "../../util/vocabulary.js";
import { checkAllowList, restrictsNames, type AllowList } from "../../net/index.js";
import { statSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { LIMITS } from "../../contract/index.js";
import type { InstalledEnvironment } from "../../environments/index.js";
import type { Backend, MachineSpec } from "../../runtime/backend.js";
import type { CommandCallOptions } from "../../contract/index.js";
import { commandStream } from "../machines/command-stream.js";
import { outsideCall } from "../call-scope.js";
import { PyroError } from "../../util/errors.js";
import { sparesRoot, vmsRoot, type CoreContext } from "../context.js";
import { checkId, newId } from "../ids.js";
import { MachineFleet } from "../machines/fleet.js";
import { SHUTDOWN_GRACE_MS } from "../machines/lifecycle.js";
import { execOutcome, type Machine } from "../machines/machine.js";
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
  private readonly machines: MachineFleet<VmRecord>;

  constructor(private readonly context: CoreContext) {
    this.records = new RecordStore<VmRecord>(vmsRoot(context), "VM", "VM ids look like vm-0123456789ab; a deleted or reaped VM is gone");
    this.spares = new SpareMachines(sparesRoot(context));
    this.machines = new MachineFleet(context, this.records, {
      idOf: (record) => record.vm_id,
      specOf: (record) => this.specOf(record),
      deadDetail: (record) => `the ${record.backend} process (pid ${record.handle?.pid}) exited unexpectedly`,
    });
    context.lifetime.onClose(() => this.spares.close());
  }

  async create(input: ParsedInput<"createVm">, options: { durable?: boolean } = {}): Promise<VmInfo> {
    return vmInfo((await this.createRecord(input, options)).record);
  }

  private async createRecord(
    input: ParsedInput<"createVm">,
    options: { durable?: boolean },
  ): Promise<{ record: VmRecord; environment: InstalledEnvironment }> {
    const allow = allowListOf(input);
    const { backend, environment } = await this.machines.resolve(input);
    const record = this.newRecord(input, backend, environment, newId("vm"), allow);
    await this.records.create(record.vm_id, record, options);
    return { record, environment };
  }

  /** A created (not yet started) VM record. */
  private newRecord(input: ParsedInput<"createVm">, backend: Backend, environment: InstalledEnvironment, id: string, allow: AllowList): VmRecord {
    const now = Date.now();
    return {
      schema: 1,
      vm_id: id,
      environment: environment.name,
      state: "created",
      backend: backend.name,
      execution_mode: backend.capabilities.execution_mode,
      vcpu_count: input.vcpu_count,
      mem_mib: input.mem_mib,
      network: input.network,
      allow,
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
    const record = await this.records.update(id, async (current) => this.boot(current, await this.machines.machine(current)));
    return vmInfo(record);
  }

  /** Start the machine of a record the caller holds the lock of; the record as it is now running. */
  private async boot(current: VmRecord, machine: Machine): Promise<VmRecord> {
    if (current.state === "running") {
      throw new PyroError("failed_precondition", `VM ${current.vm_id} is already running`);
    }
    this.context.progress(`[run] phase=start vm_id=${current.vm_id} backend=${current.backend}`);
    const handle = await machine.boot("[run]");
    return { ...current, state: "running", handle, started_at: new Date().toISOString(), detail: null };
  }

  /** Run one command in a started VM, then delete the VM (`vm_exec`). */
  async exec(input: ParsedInput<"execVm">, options?: CommandCallOptions): Promise<OneShot> {
    const id = checkId(input.vm_id, "vm", "VM");
    const record = await this.machines.refreshed(await this.records.read(id));
    if (record.state !== "running" || !record.handle) {
      throw new PyroError("failed_precondition", `VM ${id} is ${record.state}, not running`, {
        hint: record.state === "created" ? "start it first (vm_start)" : "create a new VM",
      });
    }
    return this.execThenDestroy(record, await this.machines.machine(record), input.command, input.timeout_seconds, options);
  }

  /**
   * create → start → exec → delete, as one call (`vm_run`). The record and
   * machine stay in memory between the steps; the record on disk is there
   * for other processes (status, reaping after a crash), so it needs
   * atomicity, not fsync.
   */
  async run(input: ParsedInput<"runInVm">, options?: CommandCallOptions): Promise<OneShot> {
    this.context.progress(`[run] phase=create environment=${input.environment}`);
    const allow = allowListOf(input);
    const { backend, environment } = await this.machines.resolve(input);
    // No spare under an allow-list of names: its resolver's files would be named after the spare's directory.
    const spareable = this.context.warmSpares && backend.capabilities.warm_spares && !restrictsNames(allow);
    const spareKey = spareable ? spareKeyOf(backend, environment, input, allow) : null;
    const spare = spareKey ? await this.spares.take(spareKey) : null;
    const fresh = this.newRecord(input, backend, environment, spare?.id ?? newId("vm"), allow);
    const machine = await this.machines.machine(fresh, environment);
    const running = spare ? await this.adopt(fresh, machine, spare) : await this.bootOneShot(fresh, machine);
    machine.handle = running.handle!;
    let result: OneShot;
    try {
      result = await this.execThenDestroy(running, machine, input.command, input.timeout_seconds, options);
    } finally {
      // After the run, not during it: a spare starting beside the command would slow it down.
      // The spare outlives this call: nothing of its start may report to the call's own progress.
      if (spareKey) outsideCall(() => this.spares.prepare(spareKey, backend, (id, dir) => ({ ...this.specOf({ ...fresh, vm_id: id }), environment, dir })));
    }
    this.context.progress(
      `[run] environment=${result.environment} execution_mode=${result.execution_mode} exit_code=${result.exit_code} duration_ms=${result.duration_ms}`,
    );
    return result;
  }

  /** Record a one-shot VM as running on a spare started for its id, moving the spare's directory into the record's. */
  private async adopt(fresh: VmRecord, machine: Machine, spare: AdoptedSpare): Promise<VmRecord> {
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
  private async bootOneShot(fresh: VmRecord, machine: Machine): Promise<VmRecord> {
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

  private async execThenDestroy(record: VmRecord, machine: Machine, command: string, timeoutSeconds: number, options?: CommandCallOptions): Promise<OneShot> {
    const id = record.vm_id;
    const live = commandStream(options);
    let result;
    try {
      // Aborted while the machine booted: the command never starts.
      live.throwIfAborted();
      this.context.progress(`[run] phase=execute vm_id=${id}`);
      // An OCI image's one-shot run starts in its WorkingDir, as `docker run` would (and runs as its User: Machine.exec).
      const image = machine.spec.environment.image;
      result = await machine.exec({
        command,
        cwd: image?.working_dir ?? "/workspace",
        timeoutMs: timeoutSeconds * 1000,
        maxOutputBytes: LIMITS.max_output_bytes,
        streaming: live.exec,
      });
    } finally {
      live.finish();
      await this.destroy(id, machine);
    }
    live.throwIfAborted();
    return {
      vm_id: id,
      environment: record.environment,
      command,
      stdout: result.stdout,
      stderr: result.stderr,
      ...execOutcome(result),
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
        const machine = await this.machines.machine(current);
        await machine.shutdown(SHUTDOWN_GRACE_MS);
        await machine.backend.cleanup(machine.spec);
      }
      return { ...current, state: "stopped", handle: null };
    });
    return vmInfo(record);
  }

  async delete(vmId: string): Promise<{ vm_id: string; deleted: boolean }> {
    const id = checkId(vmId, "vm", "VM");
    await this.machines.delete(id);
    return { vm_id: id, deleted: true };
  }

  async status(vmId: string): Promise<VmInfo> {
    const id = checkId(vmId, "vm", "VM");
    return vmInfo(await this.machines.refreshed(await this.records.read(id)));
  }

  async networkInfo(vmId: string): Promise<OperationResult<"networkInfoVm">> {
    const record = await this.machines.refreshed(await this.records.read(checkId(vmId, "vm", "VM")));
    return {
      vm_id: record.vm_id,
      network_enabled: record.network,
      policy: networkPolicyOf(record.network),
      backend: record.backend,
      guest_ip: record.handle?.guest_ip ?? null,
      published_ports: [],
      allow_hosts: record.allow?.hosts ?? [],
      allow_cidrs: record.allow?.cidrs ?? [],
    };
  }

  /** Delete every VM whose TTL has passed (counted from create); returns their ids. */
  reapExpired(now = Date.now()): Promise<string[]> {
    return this.machines.reap((record, at) => isExpired(record, at), now);
  }

  /** Kill the machine (the one just used, or the record's) and remove the record and all its files. */
  private destroy(id: string, known?: Machine): Promise<void> {
    return this.machines.destroy(id, known);
  }

  /** The spec of a VM's machine, but for its environment. */
  private specOf(record: VmRecord): Omit<MachineSpec, "environment"> {
    return {
      id: record.vm_id,
      dir: join(this.records.dir(record.vm_id), "machine"),
      vcpuCount: record.vcpu_count,
      memMib: record.mem_mib,
      network: networkPolicyOf(record.network),
      ...(record.allow ? { allow: record.allow } : {}),
      publishedPorts: [],
      hostname: record.vm_id,
    };
  }
}

/**
 * What a spare must match to stand in for a new VM: backend, machine shape,
 * network, and the installed environment (its manifest changes when it is
 * re-pulled or its agent refreshed).
 */
function spareKeyOf(backend: Backend, environment: InstalledEnvironment, input: ParsedInput<"createVm">, allow: AllowList): string {
  let installed = 0;
  try {
    installed = statSync(join(environment.dir, "manifest.json")).mtimeMs;
  } catch {
    // No manifest: the key still separates environments by name.
  }
  return JSON.stringify([backend.name, environment.name, installed, input.vcpu_count, input.mem_mib, input.network, allow.cidrs]);
}

/** The checked allow-lists of a create or run input (invalid_argument before anything is made). */
function allowListOf(input: ParsedInput<"createVm">): AllowList {
  return checkAllowList(networkPolicyOf(input.network), input.allow_hosts, input.allow_cidrs);
}
