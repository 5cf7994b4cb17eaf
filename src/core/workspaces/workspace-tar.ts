import { createReadStream } from "node:fs";
import type { ReadEntry } from "tar";
import { PyroError } from "../../util/errors.js";
import { readTar } from "./tar-reader.js";

/**
 * The path of an entry of a /workspace archive relative to /workspace ("" for
 * /workspace itself), or null when the name is not a safe name under it. Such
 * archives come from the guest's `get_archive /workspace`.
 */
export function workspaceRelative(raw: string): string | null {
  const name = raw.replace(/\/+$/, "");
  if (name === "workspace") return "";
  if (!name.startsWith("workspace/") || raw.includes("\0")) return null;
  const rest = name.slice("workspace/".length);
  if (rest.split("/").some((part) => part === "" || part === "." || part === "..")) return null;
  return rest;
}

/** Read a stored /workspace archive entry by entry; any entry outside /workspace fails it. */
export async function readWorkspaceTar(path: string, onEntry: (entry: ReadEntry, relative: string) => void): Promise<void> {
  await readTar(createReadStream(path), (entry) => {
    const relative = workspaceRelative(entry.path);
    if (relative === null) throw new PyroError("corrupt_state", `the stored archive ${path} has an entry outside /workspace: ${JSON.stringify(entry.path)}`);
    onEntry(entry, relative);
  });
}
