import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { PyroError } from "../../util/errors.js";
import { checkResolvesInside, workspacePath } from "./guest-paths.js";
import { maxArchiveBytes } from "./limits.js";
import { openSource } from "./seed.js";
import { ownerField } from "../machines/image-user.js";
import type { WorkspaceService } from "./service.js";

/**
 * `workspace sync push`: extract a host directory or archive under a
 * destination in /workspace. Not atomic: entries extracted before a failure
 * stay, and `reset` is the recovery. The agent refuses unsafe entries.
 */
export async function pushSync(service: WorkspaceService, input: ParsedInput<"pushWorkspaceSync">): Promise<OperationResult<"pushWorkspaceSync">> {
  const dest = workspacePath(input.dest, "sync destination");
  const source = await openSource(input.source_path, "sync source");
  const record = await service.running(input.workspace_id);
  const id = record.workspace_id;
  const limit = maxArchiveBytes(service.context);
  try {
    return await service.records.locked(id, async () => {
      service.context.progress(`[workspace] phase=sync workspace_id=${id} source=${source.sourcePath} dest=${dest}`);
      const machine = await service.machine(record);
      const result = await machine.session(async (client) => {
        await checkResolvesInside(client, dest, "sync destination");
        // Pushed files belong to the image's User (root for other environments).
        return client.putArchive(dest, source.open(), limit, ownerField(machine.spec.environment).owner);
      });
      return { workspace_id: id, dest, entries: result.entries, bytes: result.bytes };
    });
  } catch (error) {
    // A machine that died mid-sync is marked dead now, so status says so at once.
    await service.refreshed(record).catch(() => undefined);
    if (error instanceof PyroError && error.code !== "guest_failure" && error.code !== "busy") {
      throw new PyroError(error.code, `sync push refused: ${error.message}`, {
        hint: error.hint ?? `entries already extracted stay; \`pyro workspace reset ${id}\` restores a known state`,
        details: error.details,
        cause: error,
      });
    }
    throw error;
  }
}
