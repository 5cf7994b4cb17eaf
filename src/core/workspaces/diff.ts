import { createHash } from "node:crypto";
import { createTwoFilesPatch } from "diff";
import type { ReadEntry } from "tar";
import type { OperationResult } from "../../contract/index.js";
import { PyroError } from "../../util/errors.js";
import { WORKSPACE_ROOT } from "./guest-paths.js";
import { maxArchiveBytes } from "./limits.js";
import type { WorkspaceService } from "./service.js";
import { tarReader } from "./tar-reader.js";
import { readWorkspaceTar, workspaceRelative } from "./workspace-tar.js";

/** Files above this size get no text diff (only the added/modified/deleted line). */
const MAX_TEXT_DIFF_FILE = 512 * 1024;
/** Total size of the unified diffs of one answer; later files get `diff: null`. */
const MAX_DIFF_TOTAL = 2 * 1024 * 1024;
/** How long jsdiff may work on one file before it gives up (pathological inputs). */
const DIFF_TIMEOUT_MS = 2_000;
const SNIFF_BYTES = 8 * 1024;

type Kind = "file" | "directory" | "symlink" | "other";

/** What the diff needs to know about one entry of a /workspace tree. */
interface Node {
  kind: Kind;
  mode: number;
  size: number;
  digest: string;
  binary: boolean;
  /** Contents, kept only for small files on the side being read with `keep`. */
  content?: Buffer;
}

function kindOf(entry: ReadEntry): Kind {
  switch (entry.type) {
    case "File":
    case "OldFile":
      return "file";
    case "Directory":
      return "directory";
    case "SymbolicLink":
      return "symlink";
    default:
      return "other";
  }
}

function isBinary(sample: Buffer): boolean {
  if (sample.includes(0)) return true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample);
    return false;
  } catch {
    // A multi-byte character cut at the sniff boundary is not binary.
    return sample.length >= SNIFF_BYTES ? isBinary(sample.subarray(0, sample.length - 4)) : true;
  }
}

/** Contents kept in memory by one diff, at most; past it changed files get no text diff. */
const MAX_KEPT_TOTAL = 4 * MAX_DIFF_TOTAL;

/**
 * Collect one tree's entries: digests always, the contents of a small file
 * only when `keep` says so once its digest is known (and within the budget).
 */
function collector(tree: Map<string, Node>, keep: (path: string, node: Node) => boolean, budget = { left: MAX_KEPT_TOTAL }) {
  return (entry: ReadEntry, path: string): void => {
    const kind = kindOf(entry);
    const node: Node = { kind, mode: (entry.mode ?? 0) & 0o7777, size: entry.size, digest: entry.linkpath ?? "", binary: false };
    if (kind !== "file") {
      entry.resume();
      if (path !== "") tree.set(path, node);
      return;
    }
    const hash = createHash("sha256");
    const wanted = entry.size <= MAX_TEXT_DIFF_FILE && entry.size <= budget.left;
    const chunks: Buffer[] = [];
    let sniffed = 0;
    entry.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      if (wanted || sniffed < SNIFF_BYTES) chunks.push(chunk);
      sniffed += chunk.length;
    });
    entry.on("end", () => {
      const all = Buffer.concat(chunks);
      node.digest = hash.digest("hex");
      node.binary = isBinary(all.subarray(0, SNIFF_BYTES));
      if (wanted && keep(path, node)) {
        node.content = all;
        budget.left -= all.length;
      }
      tree.set(path, node);
    });
  };
}

function changed(a: Node, b: Node): boolean {
  return a.kind !== b.kind || a.digest !== b.digest || a.mode !== b.mode;
}

/**
 * `workspace diff`: compare the live /workspace (a fresh archive from the
 * guest, parsed as it streams) with the immutable create-time baseline.
 * Everything read is bounded. Secret values are redacted from the whole
 * result (paths and diffs) by the handler's guard (guard.ts).
 */
export async function diffWorkspace(service: WorkspaceService, workspaceId: string): Promise<OperationResult<"diffWorkspace">> {
  const record = await service.running(workspaceId);
  const id = record.workspace_id;
  const baseline = new Map<string, Node>();
  await readWorkspaceTar(service.files(id).baseline, collector(baseline, () => false));

  const live = new Map<string, Node>();
  // Only files that differ from the baseline keep their contents.
  const keepLive = collector(live, (path, node) => baseline.get(path)?.digest !== node.digest);
  const sink = tarReader((entry) => {
    const relative = workspaceRelative(entry.path);
    if (relative === null) throw new PyroError("guest_failure", `the guest sent an entry outside /workspace: ${JSON.stringify(entry.path)}`);
    keepLive(entry, relative);
  });
  await (await service.machine(record)).session((client) => client.getArchive(WORKSPACE_ROOT, sink, maxArchiveBytes(service.context)));

  const files: OperationResult<"diffWorkspace">["files"] = [];
  const oldContent = new Set<string>();
  for (const [path, node] of live) {
    const before = baseline.get(path);
    if (!before) files.push({ path, status: "added", kind: node.kind, binary: node.binary, diff: null });
    else if (changed(before, node)) {
      files.push({ path, status: "modified", kind: node.kind, binary: node.binary || before.binary, diff: null });
      if (node.kind === "file" && before.kind === "file") oldContent.add(path);
    } else live.set(path, { ...node, content: undefined });
  }
  for (const [path, node] of baseline) {
    if (!live.has(path)) {
      files.push({ path, status: "deleted", kind: node.kind, binary: node.binary, diff: null });
      if (node.kind === "file") oldContent.add(path);
    }
  }
  // Second, targeted pass over the baseline for the old side of changed text files.
  if (oldContent.size > 0) {
    const old = new Map<string, Node>();
    await readWorkspaceTar(service.files(id).baseline, collector(old, (path) => oldContent.has(path)));
    for (const [path, node] of old) if (oldContent.has(path)) baseline.set(path, node);
  }

  let budget = MAX_DIFF_TOTAL;
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of files) {
    if (file.kind !== "file" || file.binary) continue;
    const before = file.status === "added" ? Buffer.alloc(0) : baseline.get(file.path)?.content;
    const after = file.status === "deleted" ? Buffer.alloc(0) : live.get(file.path)?.content;
    if (!before || !after) continue;
    const patch = createTwoFilesPatch(
      file.status === "added" ? "/dev/null" : `a/${file.path}`,
      file.status === "deleted" ? "/dev/null" : `b/${file.path}`,
      before.toString("utf8"),
      after.toString("utf8"),
      undefined,
      undefined,
      { context: 3, timeout: DIFF_TIMEOUT_MS },
    );
    if (patch === undefined || patch.length > budget) continue;
    budget -= patch.length;
    file.diff = patch;
  }
  const count = (status: string) => files.filter((f) => f.status === status).length;
  return {
    workspace_id: id,
    changed: files.length > 0,
    summary: { added: count("added"), modified: count("modified"), deleted: count("deleted") },
    files,
  };
}
