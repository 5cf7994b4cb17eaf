import { createHash } from "node:crypto";
import { posix } from "node:path";
import { listGuestFiles, readGuestFile, writeGuestFile, type AgentClient } from "../../agent-client/index.js";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { FILE_LIMITS } from "../../contract/operations/files.js";
import { PyroError } from "../../util/errors.js";
import { WORKSPACE_ROOT, workspacePath } from "./guest-paths.js";
import { ownerField } from "../machines/image-user.js";
import type { Machine } from "../machines/machine.js";
import type { WorkspaceService } from "./service.js";

/**
 * A user path as the agent's file ops take it: relative to /workspace, clean,
 * "" for /workspace itself. `..` that would leave /workspace is refused here;
 * symlinks are the agent's to refuse (it resolves beneath /workspace).
 */
export function workspaceRelative(input: string, what: string): string {
  const absolute = workspacePath(input, what);
  return absolute === WORKSPACE_ROOT ? "" : posix.relative(WORKSPACE_ROOT, absolute);
}

/** The guest path of a path the agent reported relative to /workspace. */
export function underWorkspace(rel: string): string {
  return rel === "" ? WORKSPACE_ROOT : `${WORKSPACE_ROOT}/${rel}`;
}

/**
 * Run `fn` with an agent session of the running workspace `id`. The agent's
 * refusals of a path get the hint they lack.
 */
export async function withWorkspaceAgent<T>(service: WorkspaceService, id: string, fn: (client: AgentClient, machine: Machine) => Promise<T>): Promise<T> {
  const record = await service.running(id);
  const machine = await service.machine(record);
  return machine.session((client) => fn(client, machine)).catch((error: unknown) => {
    if (error instanceof PyroError && error.hint === undefined && / leads outside /.test(error.message)) {
      throw new PyroError(error.code, error.message, {
        hint: `a symlink there points out of ${WORKSPACE_ROOT}, and file operations never follow one out; use the path it points to if that is under ${WORKSPACE_ROOT}`,
        cause: error,
      });
    }
    throw error;
  });
}

/** How many bytes at the end of `bytes` are the start of a UTF-8 character cut short (0 when none). */
function cutCharacter(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if (byte < 0x80) return 0;
    if (byte >= 0xc0) {
      const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return length > back ? back : 0;
    }
  }
  return 0;
}

/** How bytes read from a guest file are reported: text, or binary with nothing decoded. */
export function decodeText(bytes: Buffer, truncated: boolean): { text: string; binary: boolean } {
  if (bytes.includes(0)) return { text: "", binary: true };
  // A cut may split one multi-byte character: its first bytes are dropped, and the rest is still text.
  const end = bytes.length - (truncated ? cutCharacter(bytes) : 0);
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end)), binary: false };
  } catch {
    return { text: "", binary: true };
  }
}

/** `workspace file list`. */
export async function listWorkspaceFiles(service: WorkspaceService, input: ParsedInput<"listWorkspaceFiles">): Promise<OperationResult<"listWorkspaceFiles">> {
  const rel = workspaceRelative(input.path, "path");
  const listing = await withWorkspaceAgent(service, input.workspace_id, (client) =>
    listGuestFiles(client, WORKSPACE_ROOT, rel, input.recursive, FILE_LIMITS.list_max_entries),
  );
  return {
    workspace_id: input.workspace_id,
    path: underWorkspace(listing.path),
    recursive: input.recursive,
    entries: listing.entries.map((entry) => ({ ...entry, path: underWorkspace(entry.path) })),
    truncated: listing.truncated,
  };
}

/** `workspace file read`: at most max_bytes, never the whole of a huge file. */
export async function readWorkspaceFile(service: WorkspaceService, input: ParsedInput<"readWorkspaceFile">): Promise<OperationResult<"readWorkspaceFile">> {
  const rel = workspaceRelative(input.path, "path");
  if (rel === "") throw directoryRead(WORKSPACE_ROOT);
  const read = await withWorkspaceAgent(service, input.workspace_id, (client) => readGuestFile(client, WORKSPACE_ROOT, rel, input.max_bytes)).catch(
    (error: unknown) => {
      if (error instanceof PyroError && error.code === "invalid_argument" && / is a directory/.test(error.message)) throw directoryRead(workspacePath(input.path, "path"));
      throw error;
    },
  );
  const { text, binary } = decodeText(read.content, read.truncated);
  return {
    workspace_id: input.workspace_id,
    path: underWorkspace(read.path),
    size_bytes: read.size_bytes,
    max_bytes: input.max_bytes,
    content: text,
    truncated: read.truncated,
    binary,
    sha256: createHash("sha256").update(read.content).digest("hex"),
    mode: read.mode,
  };
}

function directoryRead(path: string): PyroError {
  return new PyroError("invalid_argument", `${path} is a directory, not a file`, { hint: "list it with `workspace file list` (MCP workspace_file_list)" });
}

/** `workspace file write`: the whole new content, as a shell's `>`. */
export async function writeWorkspaceFile(service: WorkspaceService, input: ParsedInput<"writeWorkspaceFile">): Promise<OperationResult<"writeWorkspaceFile">> {
  const rel = workspaceRelative(input.path, "path");
  if (rel === "") throw new PyroError("invalid_argument", `${WORKSPACE_ROOT} is a directory, not a file`, { hint: "name a file under /workspace" });
  const data = Buffer.from(input.text, "utf8");
  if (data.length > FILE_LIMITS.write_max_bytes) {
    throw new PyroError("limit_exceeded", `the text is ${data.length} bytes, over the write limit of ${FILE_LIMITS.write_max_bytes}`, {
      hint: "use workspace sync push for larger files",
    });
  }
  const written = await withWorkspaceAgent(service, input.workspace_id, (client, machine) =>
    // A new file (and its new parents) belongs to the image's User, who must be able to edit it.
    writeGuestFile(client, WORKSPACE_ROOT, rel, data, ownerField(machine.spec.environment).owner),
  );
  return { workspace_id: input.workspace_id, path: underWorkspace(written.path), size_bytes: written.size_bytes, bytes_written: written.bytes_written, created: written.created };
}
