import { join } from "node:path";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { LIMITS } from "../../contract/index.js";
import { ensureEnvironment, type InstalledEnvironment } from "../../environments/index.js";
import type { Backend, MachineSpec } from "../../runtime/backend.js";
import { PyroError } from "../../util/errors.js";
import { vmsRoot, type CoreContext } from "../context.js";
import { checkId, newId } from "../ids.js";
import { BOOT_TIMEOUT_MS, destroyMachine, environmentOf, machineGone, SHUTDOWN_GRACE_MS } from "../machines/lifecycle.js";
import { execShell, shutdownMachine, withAgent, type MachineRef } from "../machines/session.js";
import { backendFromEnv } from "../machines/select.js";
import { RecordStore } from "../store/records.js";
import { isExpired, vmInfo, type VmRecord } from "./record.js";


type VmInfo = OperationResult<"statusVm">;
type OneShot = OperationResult<"runInVm">;

/** The VM lifecycle: create, start, exec (then delete), stop, delete, status, TTL. */
export class VmService {
  readonly records: RecordStore<VmRecord>;

  constructor(private readonly context: CoreContext) {
    this.records = new RecordStore<VmRecord>(vmsRoot(context), "VM", "VM ids look like vm-0123456789ab; a deleted or reaped VM is gone");
  }

  async create(input: ParsedInput<"createVm">, options: { durable?: boolean } = {}): Promise<VmInfo> {
    return (await this.createWithEnvironment(input, options)).info;
  }

  private async createWithEnvironment(
    input: ParsedInput<"createVm">,
    options: { durable?: boolean },
  ): Promise<{ info: VmInfo; environment: InstalledEnvironment }> {
    const backend = await this.context.backends.select({
      requested: input.backend ?? backendFromEnv(this.context.env),
      allowHostCompat: input.allow_host_compat,
    });
    const environment = await ensureEnvironment(input.environment, {
      cacheDir: this.context.cacheDir,
      onProgress: this.context.progress,
      kernel: backend.capabilities.vm_boot,
    });
    const now = Date.now();
    const record: VmRecord = {
      schema: 1,
      vm_id: newId("vm"),
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
    await this.records.create(record.vm_id, record, options);
    return { info: vmInfo(record), environment };
  }

  /**
   * Boot a created VM. `environment` skips re-checking an environment the caller
   * has just ensured (the one-shot path).
   */
  async start(vmId: string, options: { durable?: boolean; environment?: InstalledEnvironment } = {}): Promise<VmInfo> {
    const id = checkId(vmId, "vm", "VM");
    const record = await this.records.update(
      id,
      async (current) => {
        if (current.state === "running") {
          throw new PyroError("failed_precondition", `VM ${id} is already running`);
        }
        const machine = await this.machineFor(current);
        machine.spec.environment =
          options.environment ??
          (await ensureEnvironment(current.environment, {
            cacheDir: this.context.cacheDir,
            onProgress: this.context.progress,
            kernel: machine.backend.capabilities.vm_boot,
          }));
        this.context.progress(`[run] phase=start vm_id=${id} backend=${current.backend}`);
        const handle = await machine.backend.start(machine.spec, {
          bootTimeoutMs: BOOT_TIMEOUT_MS,
          onProgress: (line) => this.context.progress(`[run] ${line}`),
        });
        return { ...current, state: "running", handle, started_at: new Date().toISOString(), detail: null };
      },
      options,
    );
    return vmInfo(record);
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
    const machine = await this.machineFor(record);
    this.context.progress(`[run] phase=execute vm_id=${id}`);
    let result;
    try {
      result = await withAgent(machine, (client) =>
        execShell(client, {
          command: input.command,
          cwd: "/workspace",
          timeoutMs: input.timeout_seconds * 1000,
          maxOutputBytes: LIMITS.max_output_bytes,
        }),
      );
    } finally {
      await this.destroy(id);
    }
    return {
      vm_id: id,
      environment: record.environment,
      command: input.command,
      exit_code: result.exit_code,
      stdout: result.stdout,
      stderr: result.stderr,
      stdout_truncated: result.stdout_truncated,
      stderr_truncated: result.stderr_truncated,
      timed_out: result.timed_out,
      duration_ms: result.duration_ms,
      backend: record.backend,
      execution_mode: record.execution_mode,
      cleanup: { deleted: true, reason: "post_exec_cleanup", vm_id: id },
    };
  }

  /** create → start → exec → delete, as one call (`vm_run`). */
  async run(input: ParsedInput<"runInVm">): Promise<OneShot> {
    this.context.progress(`[run] phase=create environment=${input.environment}`);
    // A one-shot VM lives for one call: its record needs atomicity, not fsync.
    const { info: created, environment } = await this.createWithEnvironment(input, { durable: false });
    try {
      await this.start(created.vm_id, { durable: false, environment });
    } catch (error) {
      await this.destroy(created.vm_id);
      throw error;
    }
    const result = await this.exec({ vm_id: created.vm_id, command: input.command, timeout_seconds: input.timeout_seconds });
    this.context.progress(
      `[run] environment=${result.environment} execution_mode=${result.execution_mode} exit_code=${result.exit_code} duration_ms=${result.duration_ms}`,
    );
    return result;
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

  /** Kill the machine if needed and remove the record and all its files. */
  private async destroy(id: string): Promise<void> {
    const record = await this.records.read(id).catch(() => undefined);
    if (record) await destroyMachine(await this.machineFor(record), record.handle);
    await this.records.remove(id);
  }

  private async machineFor(record: VmRecord): Promise<MachineRef> {
    const backend: Backend = this.context.backends.get(record.backend);
    const environment = await environmentOf(record.environment, this.context.cacheDir);
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
