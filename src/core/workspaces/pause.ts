import type { OperationResult } from "../../contract/index.js";
import { PyroError } from "../../util/errors.js";
import { checkId } from "../ids.js";
import type { WorkspaceService } from "./service.js";

/**
 * Pause a running workspace with its memory: the backend saves the machine's
 * memory and device state next to its disk and ends its process, so a paused
 * workspace costs disk space only. Shells, services, background commands and
 * open files come back with {@link resumeWorkspace}. Backends without memory
 * snapshots (the sandbox) answer `unsupported`. See docs/pause-resume.md.
 */
export async function pauseWorkspace(service: WorkspaceService, workspaceId: string): Promise<OperationResult<"pauseWorkspace">> {
  const id = checkId(workspaceId, "ws", "workspace");
  const started = Date.now();
  let bytes = 0;
  const record = await service.records.update(id, async (current) => {
    if (current.state === "paused") return current;
    if (current.state !== "running" || !current.handle) {
      throw new PyroError("failed_precondition", `workspace ${id} is ${current.state}, not running`, {
        hint: current.state === "stopped" ? `start it first: pyro workspace start ${id}` : `recover it: pyro workspace reset ${id}`,
      });
    }
    const machine = await service.machine(current);
    const suspend = machine.backend.suspend?.bind(machine.backend);
    if (!suspend) {
      throw new PyroError("unsupported", `workspace ${id} runs on the ${current.backend} backend, which cannot save a machine's memory`, {
        hint: "pause needs a VM backend with memory snapshots (qemu); create the workspace with --backend qemu, or use stop/start (disk only)",
      });
    }
    if (!machine.running) {
      throw new PyroError("failed_precondition", `the machine of workspace ${id} is not running`, { hint: `recover it: pyro workspace reset ${id}` });
    }
    // Flush the guest's page cache first, so the disk alone is as complete as it can be should the saved memory ever be lost.
    await machine.session((client) => client.request("sync", {})).catch(() => undefined);
    bytes = (await suspend(machine.spec, machine.handle)).bytes;
    // Anything else of the machine (a network stack) goes with it.
    await machine.kill();
    return { ...current, state: "paused", handle: null, paused_at: new Date().toISOString(), detail: null };
  });
  return { workspace_id: id, state: "paused", paused_at: record.paused_at ?? new Date().toISOString(), memory_bytes: bytes, duration_ms: Date.now() - started };
}

/**
 * Resume a paused workspace from its saved memory: the same processes run
 * on, the guest's clock is stepped to the host's and its random state
 * reseeded. A state that cannot be resumed fails clearly and stays, so the
 * workspace can still be started cold (`workspace start`).
 */
export async function resumeWorkspace(service: WorkspaceService, workspaceId: string): Promise<OperationResult<"resumeWorkspace">> {
  const id = checkId(workspaceId, "ws", "workspace");
  const started = Date.now();
  let pausedAt = "";
  const record = await service.records.update(id, async (current) => {
    if (current.state !== "paused") {
      throw new PyroError("failed_precondition", `workspace ${id} is ${current.state}, not paused`, {
        hint: current.state === "stopped" ? `start it: pyro workspace start ${id}` : "only a paused workspace can be resumed",
      });
    }
    pausedAt = current.paused_at ?? new Date(started).toISOString();
    const machine = await service.boot(current, { resume: true });
    const { paused_at: _pausedAt, ...rest } = current;
    return { ...rest, state: "running", handle: machine.handle, detail: null };
  });
  return {
    workspace_id: id,
    state: record.state,
    paused_at: pausedAt,
    downtime_ms: Date.now() - Date.parse(pausedAt),
    duration_ms: Date.now() - started,
  };
}
