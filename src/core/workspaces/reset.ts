import { createReadStream } from "node:fs";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { checkId } from "../ids.js";
import { PyroError } from "../../util/errors.js";
import { maxArchiveBytes } from "./limits.js";
import { workspaceInfo } from "./record.js";
import { loadSecrets } from "./secrets.js";
import { BASELINE, requireSnapshot } from "./snapshots.js";
import { ownerField } from "../machines/image-user.js";
import type { WorkspaceService } from "./service.js";
import { readWorkspaceTar } from "./workspace-tar.js";

/**
 * `workspace reset`: under the workspace lock, kill the machine, drop its
 * writable layer, boot fresh from the environment, restore /workspace from the
 * baseline or a named snapshot, re-materialise secrets. Works on running,
 * stopped and dead workspaces alike: it is the recovery path.
 */
export async function resetWorkspace(service: WorkspaceService, input: ParsedInput<"resetWorkspace">): Promise<OperationResult<"resetWorkspace">> {
  const id = checkId(input.workspace_id, "ws", "workspace");
  const name = input.snapshot;
  const before = await service.refreshed(await service.records.read(id));
  if (before.state === "creating") {
    throw new PyroError("failed_precondition", `workspace ${id} is still being created`, { hint: "wait until `pyro workspace status` says running, or delete it" });
  }
  // A workspace whose creation was interrupted has no baseline yet: it starts over empty.
  const startOver = before.creation !== undefined && name === BASELINE;
  if (!startOver) requireSnapshot(service, id, name);
  const record = await service.records.update(id, async (current) => {
    const archive = startOver ? null : requireSnapshot(service, id, name);
    // Stored archives are checked before the old machine is destroyed: a bad one fails the reset harmlessly.
    if (archive) await readWorkspaceTar(archive, (entry) => entry.resume());
    const machine = await service.machine(current);
    if (current.handle) await machine.backend.kill(current.handle);
    await machine.backend.cleanup(machine.spec);
    service.context.progress(`[workspace] phase=reset workspace_id=${id} snapshot=${name}`);
    const started = await service.boot({ ...current, handle: null });
    try {
      await started.session(async (client) => {
        // Names are "workspace/…", so "/" is the destination; the agent still refuses anything unsafe.
        const owner = ownerField(started.spec.environment).owner;
        // Restored entries ("workspace/" itself included) belong to the image's User again; for others, root.
        if (archive) await client.putArchive("/", createReadStream(archive), maxArchiveBytes(service.context), owner);
        else await service.ownWorkspace(client, started);
        await service.materialiseSecrets(client, await loadSecrets(service.files(id).secrets), started);
        if (!archive) await service.captureTree(client, service.files(id).baseline);
      });
    } catch (error) {
      await started.backend.kill(started.handle).catch(() => undefined);
      throw error;
    }
    const { creation: _done, ...rest } = current;
    const seed = startOver ? { mode: "empty" as const, source_path: null, entries: 0, bytes: 0 } : current.workspace_seed;
    return { ...rest, state: "running", handle: started.handle, detail: null, workspace_seed: seed };
  });
  return { ...workspaceInfo(record), restored_from: name };
}
