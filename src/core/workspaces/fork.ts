import { copyFile } from "node:fs/promises";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { PyroError } from "../../util/errors.js";
import { checkId, newId } from "../ids.js";
import { workspaceInfo, type WorkspaceRecord } from "./record.js";
import type { WorkspaceService } from "./service.js";

/**
 * Fork a running workspace: a new workspace whose disk (a copy, copy-on-write
 * where the filesystem can) and memory are the source's at this instant, so
 * its shells, services and background commands continue in it; it gets its
 * own id, hostname and entropy (activate at resume) and the source's secrets.
 * The source is stopped only while its memory and disk are copied, then runs
 * on; nothing written afterwards is shared either way. See docs/pause-resume.md.
 */
export async function forkWorkspace(service: WorkspaceService, input: ParsedInput<"forkWorkspace">): Promise<OperationResult<"forkWorkspace">> {
  const sourceId = checkId(input.workspace_id, "ws", "workspace");
  const started = Date.now();
  const id = newId("ws");
  // Under the source's lock: no pause, stop or reset of it meanwhile.
  const fork = await service.records.locked(sourceId, async () => {
    const source = await service.records.read(sourceId);
    if (source.state !== "running" || !source.handle || source.creation) {
      throw new PyroError("failed_precondition", `workspace ${sourceId} is ${source.state}, not running`, { hint: "only a running workspace can be forked" });
    }
    const machine = await service.machine(source);
    const forker = machine.backend.fork?.bind(machine.backend);
    if (!forker) {
      throw new PyroError("unsupported", `workspace ${sourceId} runs on the ${source.backend} backend, which cannot copy a running machine`, {
        hint: "fork needs a VM backend with memory snapshots (qemu); create the workspace with --backend qemu",
      });
    }
    if (source.published_ports.length > 0) {
      throw new PyroError("failed_precondition", `workspace ${sourceId} publishes host ports, which its fork could not bind too`, {
        hint: "fork a workspace without published ports",
      });
    }
    const now = Date.now();
    const record: WorkspaceRecord = {
      ...source,
      workspace_id: id,
      state: "paused",
      handle: null,
      detail: null,
      command_count: 0,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + source.ttl_seconds * 1000).toISOString(),
      forked_from: sourceId,
      paused_at: new Date(now).toISOString(),
      ...(input.name ? { name: input.name } : {}),
    };
    const from = service.files(sourceId);
    await service.records.create(id, record, {
      populate: async () => {
        const to = service.files(id);
        // What diff and reset compare with, and the secrets (values re-materialised: the guest's tmpfs came along in memory).
        for (const file of ["baseline", "secrets"] as const) await copyFile(from[file], to[file]).catch(() => undefined);
        await forker(machine.spec, machine.handle, to.machine);
      },
    });
    return record;
  });
  try {
    const machine = await service.records.update(id, async (current) => {
      const booted = await service.boot(current, { resume: true });
      const { paused_at: _pausedAt, ...rest } = current;
      return { ...rest, state: "running" as const, handle: booted.handle };
    });
    return { ...workspaceInfo(machine), forked_from: sourceId, name: fork.name ?? null, duration_ms: Date.now() - started };
  } catch (error) {
    // A fork that cannot run is of no use: remove it.
    await service.delete(id).catch(() => undefined);
    throw error;
  }
}
