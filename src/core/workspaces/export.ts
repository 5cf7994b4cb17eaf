import { lstat, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { PyroError } from "../../util/errors.js";
import { checkResolvesInside, workspacePath } from "./guest-paths.js";
import { HostExtractor } from "./host-extract.js";
import { maxArchiveBytes } from "./limits.js";
import type { WorkspaceService } from "./service.js";

type Existing = "none" | "file" | "directory" | "other";

async function existing(path: string): Promise<Existing> {
  try {
    const info = await lstat(path);
    return info.isFile() ? "file" : info.isDirectory() ? "directory" : "other";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "none";
    throw new PyroError("io_error", `cannot check ${path}: ${(error as Error).message}`);
  }
}

function refuseClobber(output: string, found: Existing, kind: "file" | "directory" | null): void {
  if (found === "none") return;
  if (found === "file" && kind !== "directory") return;
  const what = found === "file" ? "a file (a directory export never replaces one)" : found === "directory" ? "a directory" : "a symlink or special file";
  throw new PyroError("already_exists", `the export output ${output} already exists as ${what}`, {
    hint: "choose an output path that does not exist yet (an existing regular file may be replaced by a file export)",
  });
}

/**
 * `workspace export`: copy one file or directory out of /workspace to a host
 * path. The tar the guest sends is untrusted: it is extracted by
 * {@link HostExtractor} into a temporary sibling of the output, which is
 * renamed into place only when complete. An existing directory (or symlink)
 * at the output is never touched; an existing regular file is replaced only by
 * a file export. Symlinks leaving the exported tree are dropped.
 */
export async function exportWorkspace(service: WorkspaceService, input: ParsedInput<"exportWorkspace">): Promise<OperationResult<"exportWorkspace">> {
  const guestPath = workspacePath(input.path, "export path");
  const output = resolve(input.output_path);
  refuseClobber(output, await existing(output), null);
  const record = await service.running(input.workspace_id);
  const id = record.workspace_id;
  const parent = dirname(output);
  await mkdir(parent, { recursive: true });
  const temp = await mkdtemp(join(parent, `.${basename(output)}.pyro-export-`));
  try {
    const top = basename(guestPath);
    const extractor = new HostExtractor({ root: temp, top, maxBytes: maxArchiveBytes(service.context) });
    await (await service.machine(record)).session(async (client) => {
      await checkResolvesInside(client, guestPath, "export path");
      await client.getArchive(guestPath, extractor.sink, maxArchiveBytes(service.context));
    }).catch((error: unknown) => {
      // The extractor's own refusal explains more than the cut stream it caused.
      throw extractor.error ?? error;
    });
    const result = await extractor.finish();
    for (const link of result.droppedSymlinks) {
      service.context.progress(`[workspace] phase=export dropped_symlink=${link} reason=target_outside_export`);
    }
    refuseClobber(output, await existing(output), result.kind);
    await rename(join(temp, top), output);
    return { workspace_id: id, path: guestPath, output_path: output, kind: result.kind, entries: result.entries, bytes: result.bytes };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
