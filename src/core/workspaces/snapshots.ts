import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { OperationResult, ParsedInput } from "../../contract/index.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { PyroError } from "../../util/errors.js";
import type { WorkspaceService } from "./service.js";
import { readWorkspaceTar } from "./workspace-tar.js";

/** The snapshot every workspace has: /workspace as create left it. */
export const BASELINE = "baseline";

/** What `snapshot list` shows of one snapshot. */
export interface SnapshotMeta {
  name: string;
  created_at: string;
  entries: number;
  bytes: number;
}

/** The archive of a snapshot (the baseline included). */
export function snapshotArchive(service: WorkspaceService, id: string, name: string): string {
  return name === BASELINE ? service.files(id).baseline : join(service.files(id).snapshots, `${name}.tar`);
}

function metaPath(service: WorkspaceService, id: string, name: string): string {
  return name === BASELINE ? join(service.records.dir(id), "baseline.json") : join(service.files(id).snapshots, `${name}.json`);
}

async function readMeta(path: string): Promise<SnapshotMeta | null> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as SnapshotMeta;
  } catch {
    return null;
  }
}

/** The baseline's entry: counted once from its archive, then remembered beside it. */
async function baselineMeta(service: WorkspaceService, id: string): Promise<SnapshotMeta> {
  const path = metaPath(service, id, BASELINE);
  const known = await readMeta(path);
  if (known) return known;
  const record = await service.records.read(id);
  let entries = 0;
  let bytes = 0;
  await readWorkspaceTar(service.files(id).baseline, (entry) => {
    entries += 1;
    bytes += entry.type === "File" || entry.type === "OldFile" ? entry.size : 0;
    entry.resume();
  });
  const meta = { name: BASELINE, created_at: record.created_at, entries, bytes };
  await writeFileAtomic(path, JSON.stringify(meta), { mode: 0o600 }).catch(() => undefined);
  return meta;
}

/** Complete snapshots only: an archive counts once its meta file (written last) exists. */
async function namedSnapshots(service: WorkspaceService, id: string): Promise<SnapshotMeta[]> {
  let names: string[];
  try {
    names = await readdir(service.files(id).snapshots);
  } catch {
    return [];
  }
  const metas: SnapshotMeta[] = [];
  for (const file of names.filter((n) => n.endsWith(".json")).sort()) {
    const name = file.slice(0, -".json".length);
    if (!existsSync(snapshotArchive(service, id, name))) continue;
    const meta = await readMeta(join(service.files(id).snapshots, file));
    if (meta) metas.push(meta);
  }
  return metas;
}

/**
 * Remove what a killed create or delete left: partial archives, archives
 * without meta, meta without archive. Caller holds the workspace lock.
 */
async function prune(service: WorkspaceService, id: string): Promise<void> {
  const dir = service.files(id).snapshots;
  const names = await readdir(dir).catch(() => [] as string[]);
  const set = new Set(names);
  for (const file of names) {
    const orphan =
      file.endsWith(".partial") ||
      (file.endsWith(".tar") && !set.has(`${file.slice(0, -4)}.json`)) ||
      (file.endsWith(".json") && !set.has(`${file.slice(0, -5)}.tar`)) ||
      file.endsWith(".tmp");
    if (orphan) await rm(join(dir, file), { force: true });
  }
}

/** `snapshot create`: archive /workspace, rename it into place, then write its meta (which makes it listed). */
export async function createSnapshot(service: WorkspaceService, input: ParsedInput<"createSnapshot">): Promise<OperationResult<"createSnapshot">> {
  const name = input.snapshot_name;
  if (name === BASELINE) {
    throw new PyroError("already_exists", "the baseline snapshot always exists and cannot be created by name", { hint: "choose another snapshot name" });
  }
  const record = await service.running(input.workspace_id);
  const id = record.workspace_id;
  return service.records.locked(id, async () => {
    await mkdir(service.files(id).snapshots, { recursive: true, mode: 0o700 });
    await prune(service, id);
    if (existsSync(metaPath(service, id, name))) {
      throw new PyroError("already_exists", `workspace ${id} already has a snapshot named ${name}`, { hint: `delete it first: pyro workspace snapshot delete ${id} ${name}` });
    }
    service.context.progress(`[workspace] phase=snapshot workspace_id=${id} name=${name}`);
    const archive = snapshotArchive(service, id, name);
    const result = await (await service.machine(record)).session((client) => service.captureTree(client, archive));
    const meta: SnapshotMeta = { name, created_at: new Date().toISOString(), entries: result.entries, bytes: result.bytes };
    await writeFileAtomic(metaPath(service, id, name), JSON.stringify(meta), { mode: 0o600 });
    return { workspace_id: id, ...meta };
  });
}

/** `snapshot list`: the baseline first, then complete named snapshots by name. */
export async function listSnapshots(service: WorkspaceService, workspaceId: string): Promise<OperationResult<"listSnapshots">> {
  const record = await service.running(workspaceId, { allowStopped: true });
  const id = record.workspace_id;
  if (record.creation) {
    throw new PyroError("failed_precondition", `workspace ${id} has no baseline: its creation was interrupted`, {
      hint: `reset it (it starts over with an empty /workspace): pyro workspace reset ${id}; or delete it`,
    });
  }
  return { workspace_id: id, snapshots: [await baselineMeta(service, id), ...(await namedSnapshots(service, id))] };
}

/** `snapshot delete`: meta first (it stops being listed), then the archive. */
export async function deleteSnapshot(service: WorkspaceService, input: ParsedInput<"deleteSnapshot">): Promise<OperationResult<"deleteSnapshot">> {
  const name = input.snapshot_name;
  if (name === BASELINE) {
    throw new PyroError("failed_precondition", "the baseline snapshot cannot be deleted", { hint: "reset restores it; delete the workspace to drop it" });
  }
  const record = await service.running(input.workspace_id, { allowStopped: true });
  const id = record.workspace_id;
  return service.records.locked(id, async () => {
    if (!existsSync(metaPath(service, id, name))) {
      throw new PyroError("not_found", `workspace ${id} has no snapshot named ${name}`, { hint: `list them: pyro workspace snapshot list ${id}` });
    }
    await rm(metaPath(service, id, name), { force: true });
    await rm(snapshotArchive(service, id, name), { force: true });
    await prune(service, id);
    return { workspace_id: id, name, deleted: true };
  });
}

/** The archive of a complete snapshot (or the baseline), or a not_found error. */
export function requireSnapshot(service: WorkspaceService, id: string, name: string): string {
  const archive = snapshotArchive(service, id, name);
  if (!existsSync(archive) || (name !== BASELINE && !existsSync(metaPath(service, id, name)))) {
    throw new PyroError("not_found", `workspace ${id} has no snapshot named ${name}`, { hint: `list them: pyro workspace snapshot list ${id}` });
  }
  return archive;
}
