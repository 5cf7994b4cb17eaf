import { crc32 } from "node:zlib";
import { applyPatch, parsePatch, type StructuredPatch, type StructuredPatchHunk } from "diff";
import { applyGuestChanges, readGuestFile, type AgentClient, type GuestFileChange } from "../../agent-client/index.js";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { FILE_LIMITS } from "../../contract/operations/files.js";
import { PyroError } from "../../util/errors.js";
import { decodeText, withWorkspaceAgent, workspaceRelative } from "./files.js";
import { WORKSPACE_ROOT } from "./guest-paths.js";
import { ownerField } from "../machines/image-user.js";
import type { WorkspaceService } from "./service.js";

type Status = "added" | "modified" | "deleted";

/** One file of a patch: where, what happens to it, its hunks, and whether it becomes (or stops being) executable. */
interface FilePatch {
  rel: string;
  status: Status;
  patch: StructuredPatch;
  /** Git's modes: true for 100755, false for 100644 where the mode changes; null: no say (a new file is 0666 less the umask). */
  executable: boolean | null;
}

/** The execute bit a git header asks for, or null when it asks nothing. */
function executableOf(patch: StructuredPatch, status: Status): boolean | null {
  if (status === "deleted" || patch.newMode === undefined) return null;
  if (status === "added") return patch.newMode === "100755" ? true : null;
  return patch.oldMode !== undefined && patch.oldMode !== patch.newMode ? patch.newMode === "100755" : null;
}

const NOT_A_DIFF_HINT = "give unified diff text (git diff or diff -u output): --- a/FILE, +++ b/FILE, then @@ hunks";

function notADiff(why: string): PyroError {
  return new PyroError("invalid_argument", `the patch is not a unified diff: ${why}`, { hint: NOT_A_DIFF_HINT });
}

/** A header's file name relative to /workspace, or null for /dev/null. Git's a/ and b/ prefixes are dropped. */
function headerPath(name: string | undefined, prefix: "a/" | "b/"): string | null {
  if (name === undefined || name === "") return null;
  if (name === "/dev/null") return null;
  const stripped = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  return workspaceRelative(stripped, "patch path");
}

/**
 * Parse a patch into one entry per file, refusing what this operation does not
 * do: binary patches, renames and copies, a file named twice, paths outside
 * /workspace (workspaceRelative), text that is no diff at all.
 */
export function parseWorkspacePatch(text: string): FilePatch[] {
  if (/^(GIT binary patch|Binary files .* differ)$/m.test(text)) {
    throw new PyroError("invalid_argument", "the patch holds a binary file change, which cannot be applied as text", {
      hint: "write binary files with workspace sync push; keep the patch to text files",
    });
  }
  let parsed: StructuredPatch[];
  try {
    parsed = parsePatch(text);
  } catch (error) {
    throw notADiff((error as Error).message);
  }
  const files: FilePatch[] = [];
  const seen = new Set<string>();
  for (const patch of parsed) {
    const named = (patch.oldFileName ?? "") !== "" || (patch.newFileName ?? "") !== "";
    if (!named && patch.hunks.length === 0) continue;
    if (!named) throw notADiff("a hunk has no --- / +++ file header");
    if (patch.isBinary) throw new PyroError("invalid_argument", `the patch changes the binary file ${patch.newFileName ?? patch.oldFileName}`, { hint: "keep the patch to text files" });
    if (patch.isRename || patch.isCopy) {
      throw new PyroError("invalid_argument", `the patch renames or copies ${patch.oldFileName}`, { hint: "express it as a deletion and an addition" });
    }
    const oldPath = patch.isCreate ? null : headerPath(patch.oldFileName, "a/");
    const newPath = patch.isDelete ? null : headerPath(patch.newFileName, "b/");
    if (oldPath === null && newPath === null) throw notADiff("a file goes from /dev/null to /dev/null");
    if (oldPath !== null && newPath !== null && oldPath !== newPath) {
      throw new PyroError("invalid_argument", `the patch renames ${oldPath} to ${newPath}`, { hint: "express it as a deletion and an addition" });
    }
    const rel = (newPath ?? oldPath)!;
    if (rel === "") throw new PyroError("invalid_argument", "the patch names /workspace itself as a file");
    if (seen.has(rel)) {
      throw new PyroError("invalid_argument", `the patch names ${WORKSPACE_ROOT}/${rel} more than once`, { hint: "give each file one section with all its hunks" });
    }
    seen.add(rel);
    const status: Status = oldPath === null ? "added" : newPath === null ? "deleted" : "modified";
    const executable = executableOf(patch, status);
    if (status === "modified" && patch.hunks.length === 0 && executable === null) {
      throw new PyroError("invalid_argument", `the patch has no hunks and no mode change for ${WORKSPACE_ROOT}/${rel}`, { hint: NOT_A_DIFF_HINT });
    }
    files.push({ rel, status, patch, executable });
  }
  if (files.length === 0) throw notADiff("no file header (--- / +++) and no hunk found");
  if (files.length > FILE_LIMITS.patch_max_files) {
    throw new PyroError("limit_exceeded", `the patch changes ${files.length} files, over the limit of ${FILE_LIMITS.patch_max_files}`, { hint: "split it into several patches" });
  }
  return files;
}

const clip = (line: string | undefined): string => (line === undefined ? "end of file" : JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line));

function hunkHeader(h: StructuredPatchHunk): string {
  return `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`;
}

/** Why one hunk does not fit `content`: the first line at its stated place that differs. */
function hunkMismatch(content: string, hunk: StructuredPatchHunk): string {
  const lines = content.split("\n");
  const expected = hunk.lines.filter((l) => l.startsWith(" ") || l.startsWith("-")).map((l) => l.slice(1));
  const start = Math.max(hunk.oldStart - 1, 0);
  for (const [i, want] of expected.entries()) {
    const found = lines[start + i];
    if (found !== want) return `line ${start + i + 1}: expected ${clip(want)}, found ${clip(start + i < lines.length ? found : undefined)} (and no other place in the file matches)`;
  }
  return "its lines match at the stated place but not in order with the hunks before it";
}

/** The new content of one file, or why it does not apply. */
function patched(file: FilePatch, content: string): { text: string } | { failure: string } {
  const where = `${WORKSPACE_ROOT}/${file.rel}`;
  const result = applyPatch(content, file.patch, { fuzzFactor: 0 });
  if (result !== false) {
    if (file.status === "deleted" && result !== "") return { failure: `${where}: the deletion does not remove all of its content` };
    return { text: result };
  }
  const hunks = file.patch.hunks;
  const bad = hunks.findIndex((h) => applyPatch(content, { ...file.patch, hunks: [h] }, { fuzzFactor: 0 }) === false);
  const index = bad === -1 ? hunks.length - 1 : bad;
  const hunk = hunks[index]!;
  return { failure: `${where}: hunk ${index + 1} of ${hunks.length} (${hunkHeader(hunk)}) does not match: ${hunkMismatch(content, hunk)}` };
}

/** A file a patch modifies or deletes, read whole (UTF-8, within the patch bound); for an added file, that none is there. */
async function current(client: AgentClient, file: FilePatch): Promise<{ content: string; bytes: Buffer } | null | { failure: string }> {
  const where = `${WORKSPACE_ROOT}/${file.rel}`;
  try {
    const read = await readGuestFile(client, WORKSPACE_ROOT, file.rel, file.status === "added" ? 0 : FILE_LIMITS.patch_max_bytes);
    if (file.status === "added") return { failure: `${where} already exists, so it cannot be added` };
    if (read.truncated) return { failure: `${where} is larger than the patch limit of ${FILE_LIMITS.patch_max_bytes} bytes` };
    const { text, binary } = decodeText(read.content, false);
    if (binary) return { failure: `${where} is a binary file; patches change text files only` };
    return { content: text, bytes: read.content };
  } catch (error) {
    if (!(error instanceof PyroError)) throw error;
    if (error.code === "not_found") return file.status === "added" ? null : { failure: `${where} does not exist, so it cannot be ${file.status}` };
    if (error.code === "invalid_argument" && / is a directory| is not a regular file/.test(error.message)) {
      return { failure: `${where} is a directory or special file, not a text file` };
    }
    throw error;
  }
}

/** How many failures the error's message names (details.failures has them all). */
const MAX_FAILURES_SHOWN = 20;

/** How many reads are in flight at once: one session multiplexes them, and the host holds what they return. */
const READS_IN_FLIGHT = 16;

/**
 * Read every target (in flight together, a few at a time), holding at most
 * FILE_LIMITS.patch_total_bytes of their content: the guest chooses how large
 * its files are.
 */
async function readAll(client: AgentClient, files: FilePatch[]): Promise<Array<Awaited<ReturnType<typeof current>>>> {
  const found: Array<Awaited<ReturnType<typeof current>>> = new Array(files.length);
  let total = 0;
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (next < files.length && !stopped) {
      const index = next++;
      const result = await current(client, files[index]!);
      if (result !== null && "bytes" in result) total += result.bytes.length;
      if (total > FILE_LIMITS.patch_total_bytes) {
        stopped = true;
        throw new PyroError("limit_exceeded", `the files this patch changes hold more than ${FILE_LIMITS.patch_total_bytes} bytes together; nothing was changed`, {
          hint: "split it into several patches",
        });
      }
      found[index] = result;
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, files.length) }, worker));
  return found;
}

/**
 * `workspace patch apply`: every hunk of every file is checked against the
 * current content before anything is written; then the agent's `file_apply`
 * makes all the changes or none (and refuses a file changed in between).
 */
export async function applyWorkspacePatch(service: WorkspaceService, input: ParsedInput<"applyWorkspacePatch">): Promise<OperationResult<"applyWorkspacePatch">> {
  const files = parseWorkspacePatch(input.patch);
  await withWorkspaceAgent(service, input.workspace_id, async (client, machine) => {
    const changes: GuestFileChange[] = [];
    const failures: string[] = [];
    const found = await readAll(client, files);
    for (const [index, file] of files.entries()) {
      let base = "";
      let expect: GuestFileChange["expect"] = null;
      const now = found[index]!;
      if (now !== null && "failure" in now) {
        failures.push(now.failure);
        continue;
      }
      if (now !== null) {
        base = now.content;
        expect = { size: now.bytes.length, crc32: crc32(now.bytes) };
      }
      const next = patched(file, base);
      if ("failure" in next) {
        failures.push(next.failure);
        continue;
      }
      changes.push(
        file.status === "deleted"
          ? { path: file.rel, action: "delete", expect }
          : { path: file.rel, action: "write", content: Buffer.from(next.text, "utf8"), expect, executable: file.executable },
      );
    }
    if (failures.length > 0) {
      const shown = failures.slice(0, MAX_FAILURES_SHOWN).join("; ");
      const more = failures.length > MAX_FAILURES_SHOWN ? `; and ${failures.length - MAX_FAILURES_SHOWN} more (details.failures lists all)` : "";
      throw new PyroError("failed_precondition", `the patch does not apply, nothing was changed: ${shown}${more}`, {
        hint: "read the files again (workspace file read) and rebuild the patch against their current content",
        details: { failures },
      });
    }
    await applyGuestChanges(client, WORKSPACE_ROOT, changes, ownerField(machine.spec.environment).owner).catch((error: unknown) => {
      if (error instanceof PyroError && error.code === "already_exists") {
        throw new PyroError("failed_precondition", `the patch does not apply, nothing was changed: ${error.message}`, {
          hint: "a file to add exists already, or a file changed while the patch was applied; read the files again and rebuild the patch",
        });
      }
      throw error;
    });
  });
  const count = (status: Status) => files.filter((f) => f.status === status).length;
  return {
    workspace_id: input.workspace_id,
    changed: files.length > 0,
    summary: { total: files.length, added: count("added"), modified: count("modified"), deleted: count("deleted") },
    entries: files.map((f) => ({ path: `${WORKSPACE_ROOT}/${f.rel}`, status: f.status })),
  };
}
