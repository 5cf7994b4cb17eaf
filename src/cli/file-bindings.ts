import { readFileSync, statSync } from "node:fs";
import type { CliBindings } from "./binding.js";
import { FILE_LIMITS } from "../contract/operations/files.js";
import { formatBytes } from "./format.js";

const workspace = { field: "workspace_id", name: "workspace-id" };

/**
 * Read a host file given to `--text-file`/`--patch-file` as UTF-8 text, its
 * size checked before it is read (a multi-gigabyte file is refused, not loaded).
 */
function hostText(input: Record<string, unknown>, field: string, flag: string, path: string, maxBytes: number): void {
  if (input[field] !== undefined) throw new Error(`give --${field} or ${flag}, not both`);
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new Error(`${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
  if (size > maxBytes) throw new Error(`${flag}: ${path} is ${size} bytes, over the limit of ${maxBytes} bytes (use workspace sync push for large files)`);
  const bytes = readFileSync(path);
  try {
    input[field] = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${flag}: ${path} is not UTF-8 text (copy binary files with workspace sync push)`);
  }
}

/** The file API and patch apply on the command line (docs/files.md). */
export const FILE_BINDINGS: Pick<CliBindings, "listWorkspaceFiles" | "readWorkspaceFile" | "writeWorkspaceFile" | "applyWorkspacePatch"> = {
  listWorkspaceFiles: {
    path: ["workspace", "file", "list"],
    positionals: [workspace, { field: "path", name: "path", optional: true }],
    print: (r, out) => {
      for (const e of r.entries) {
        const tag = e.kind === "directory" ? "/" : "";
        out.stdout(`${e.mode} ${String(e.size_bytes).padStart(10)} ${e.path}${tag}${e.link_target !== null ? ` -> ${e.link_target}` : ""}\n`);
      }
      if (r.truncated) out.stderr(`[pyro] the listing stopped at ${r.entries.length} entries; list a subdirectory\n`);
    },
  },
  readWorkspaceFile: {
    path: ["workspace", "file", "read"],
    positionals: [workspace, { field: "path", name: "path" }],
    // A binary file has no text content: --content-only prints nothing for it (the JSON has its size and sha256).
    contentOnly: (r) => r.content,
    print: (r, out) => {
      out.stderr(`[file] ${r.path} size=${r.size_bytes} mode=${r.mode} truncated=${r.truncated} binary=${r.binary} sha256=${r.sha256}\n`);
      if (r.binary) out.stderr(`[pyro] ${r.path} is binary (${formatBytes(r.size_bytes)}, sha256 of what was read ${r.sha256}); copy it out with workspace export\n`);
      else out.stdout(r.content);
      if (r.truncated) out.stderr(`[pyro] cut at ${r.max_bytes} of ${r.size_bytes} bytes; raise --max-bytes to read more\n`);
    },
  },
  writeWorkspaceFile: {
    path: ["workspace", "file", "write"],
    positionals: [workspace, { field: "path", name: "path" }],
    extra: [
      {
        flags: "--text-file <host-path>",
        description: `host file whose UTF-8 text to write (at most ${FILE_LIMITS.write_max_bytes} bytes), instead of --text`,
        apply: (input, path) => hostText(input, "text", "--text-file", path, FILE_LIMITS.write_max_bytes),
      },
    ],
    print: (r, out) => out.stdout(`Wrote ${formatBytes(r.bytes_written)} to ${r.path}${r.created ? " (new file)" : ""}\n`),
  },
  applyWorkspacePatch: {
    path: ["workspace", "patch", "apply"],
    positionals: [workspace],
    extra: [
      {
        flags: "--patch-file <host-path>",
        description: `host file holding the unified diff (at most ${FILE_LIMITS.patch_max_bytes} bytes), instead of --patch`,
        apply: (input, path) => hostText(input, "patch", "--patch-file", path, FILE_LIMITS.patch_max_bytes),
      },
    ],
    print: (r, out) => {
      const { added, modified, deleted } = r.summary;
      out.stdout(`Applied the patch: ${added} added, ${modified} modified, ${deleted} deleted\n`);
      for (const e of r.entries) out.stdout(`${e.status === "added" ? "A" : e.status === "modified" ? "M" : "D"} ${e.path}\n`);
    },
  },
};
