import { z } from "zod";
import { defineOperation } from "../operation.js";
import { id, sizeText } from "../common.js";

/** Defaults and bounds of the file API (docs/files.md). */
export const FILE_LIMITS = {
  /** `file read`'s default `max_bytes` (the original's). */
  read_default_bytes: 65536,
  /** The most one `file read` returns. */
  read_max_bytes: 4 * 1024 * 1024,
  /** The most one `file write` writes, in UTF-8 bytes. */
  write_max_bytes: 4 * 1024 * 1024,
  /** The longest patch text, and the largest file a patch may change. */
  patch_max_bytes: 4 * 1024 * 1024,
  /** The most files one patch may change. */
  patch_max_files: 1000,
  /** The most bytes of current content one patch may read, all its files together. */
  patch_total_bytes: 64 * 1024 * 1024,
  /** The most entries one listing returns (it says truncated past it). */
  list_max_entries: 5000,
} as const;

/**
 * Required text of at most `maxBytes` UTF-8 bytes (as common.ts's boundedString),
 * whose absence says which flags give it.
 */
function requiredText(what: string, maxBytes: number, missing: string, advice: string) {
  const message = `${what} is longer than the limit of ${sizeText(maxBytes)} of UTF-8; ${advice}`;
  return z
    .string({ error: (issue) => (issue.input === undefined ? missing : undefined) })
    .max(maxBytes, { error: message, abort: true })
    .refine((value) => Buffer.byteLength(value, "utf8") <= maxBytes, message);
}

const workspaceId = z.object({ workspace_id: id("workspace id") });
const WORKSPACE_PATH = "absolute under /workspace, or relative to it; '..' may not leave it, nor may a symlink";

const fileEntry = z.object({
  path: z.string().describe("Absolute guest path"),
  kind: z.enum(["file", "directory", "symlink", "other"]),
  size_bytes: z.number().int(),
  mode: z.string().describe("Permission bits in octal, e.g. 0644"),
  link_target: z.string().nullable().describe("Where a symlink points (as written in the link); null for everything else"),
});

export const listWorkspaceFiles = defineOperation({
  mcp: "workspace_file_list",
  summary: "List files and directories of a running workspace under /workspace",
  details:
    `Use it to see what exists before reading or patching. Entries are in name order (depth first with recursive); symlinks are listed, not followed. ` +
    `At most ${FILE_LIMITS.list_max_entries} entries: past that, truncated is true (list a subdirectory instead).`,
  input: workspaceId.extend({
    path: z.string().min(1).default("/workspace").describe(`Directory to list (default /workspace): ${WORKSPACE_PATH}`),
    recursive: z.boolean().default(false).describe("List every descendant, not only the directory's children (default false)"),
  }),
  result: z.object({
    workspace_id: z.string(),
    path: z.string(),
    recursive: z.boolean(),
    entries: z.array(fileEntry),
    truncated: z.boolean().describe(`Whether the listing stopped at ${FILE_LIMITS.list_max_entries} entries`),
  }),
});

export const readWorkspaceFile = defineOperation({
  mcp: "workspace_file_read",
  summary: "Read a text file of a running workspace, without a shell",
  details:
    `Returns at most max_bytes bytes (default ${FILE_LIMITS.read_default_bytes}); truncated says whether the file goes on, size_bytes is its whole size. ` +
    `A file that is not UTF-8 text comes back with binary true, an empty content, and its size and sha256 (use workspace_export for it). ` +
    `Prefer this to workspace_exec with cat: no quoting, and exact bytes. A directory is an error (use workspace_file_list).`,
  input: workspaceId.extend({
    path: z.string().min(1).describe(`File to read: ${WORKSPACE_PATH}`),
    max_bytes: z
      .number()
      .int()
      .min(1)
      .max(FILE_LIMITS.read_max_bytes)
      .default(FILE_LIMITS.read_default_bytes)
      .describe(`Most bytes to return, 1 to ${FILE_LIMITS.read_max_bytes} (default ${FILE_LIMITS.read_default_bytes})`),
  }),
  result: z.object({
    workspace_id: z.string(),
    path: z.string(),
    size_bytes: z.number().int().describe("The file's whole size in bytes"),
    max_bytes: z.number().int(),
    content: z.string().describe("The text read (UTF-8); empty when binary"),
    truncated: z.boolean().describe("Whether the file goes on past what was read"),
    binary: z.boolean().describe("Whether the bytes read are not UTF-8 text (or hold NUL bytes); content is then empty"),
    sha256: z.string().describe("sha256 (hex) of the bytes read: of the whole file unless truncated"),
    mode: z.string().describe("Permission bits in octal, e.g. 0644"),
  }),
});

export const writeWorkspaceFile = defineOperation({
  mcp: "workspace_file_write",
  summary: "Write a text file in a running workspace, replacing its content",
  details:
    `Makes missing parent directories. An existing file keeps its mode and owner (as a shell's >); a new one gets 0666 less the guest's umask (usually 0644). ` +
    `At most ${sizeText(FILE_LIMITS.write_max_bytes)} of UTF-8; for larger or binary files use workspace_sync_push. ` +
    `To change part of a file, workspace_patch_apply is safer: it checks the lines it replaces.`,
  input: workspaceId.extend({
    path: z.string().min(1).describe(`File to write: ${WORKSPACE_PATH}`),
    text: requiredText("text", FILE_LIMITS.write_max_bytes, "text is required: the file's whole new content (CLI: --text or --text-file)", "use workspace_sync_push for larger files").describe(
      `The whole new content, UTF-8, at most ${sizeText(FILE_LIMITS.write_max_bytes)}`,
    ),
  }),
  result: z.object({
    workspace_id: z.string(),
    path: z.string(),
    size_bytes: z.number().int().describe("The file's size after the write"),
    bytes_written: z.number().int(),
    created: z.boolean().describe("Whether the file did not exist before"),
  }),
});

export const applyWorkspacePatch = defineOperation({
  mcp: "workspace_patch_apply",
  summary: "Apply a unified diff to files under /workspace, all or nothing",
  details:
    "The patch is a unified diff (git diff or diff -u output; a/ and b/ prefixes are stripped) that may add (--- /dev/null), modify and delete (+++ /dev/null) text files. " +
    "Git's 100755/100644 modes set or clear execute bits. " +
    "Every hunk of every file is checked against the current content first; if any does not match, nothing is written and the error names the file, the hunk and the lines that differ (read the file again and rebuild the patch). " +
    `Hunks must match exactly (no fuzz), though they may sit at other line numbers. Binary patches, renames, a file named twice and paths outside /workspace are refused. At most ${sizeText(FILE_LIMITS.patch_max_bytes)} of patch, and of each file it changes; at most ${FILE_LIMITS.patch_max_files} files.`,
  input: workspaceId.extend({
    patch: requiredText("patch", FILE_LIMITS.patch_max_bytes, "patch is required: unified diff text (CLI: --patch or --patch-file)", "split the patch").describe(`Unified diff text, at most ${sizeText(FILE_LIMITS.patch_max_bytes)}`),
  }),
  result: z.object({
    workspace_id: z.string(),
    changed: z.boolean(),
    summary: z.object({ total: z.number().int(), added: z.number().int(), modified: z.number().int(), deleted: z.number().int() }),
    entries: z.array(z.object({ path: z.string().describe("Absolute guest path"), status: z.enum(["added", "modified", "deleted"]) })),
  }),
});
