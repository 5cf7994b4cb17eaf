import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { BackendName, Pyro } from "../../src/index.js";

/** What {@link seedWalkthrough} is given. */
export interface SeedWalkthroughOptions {
  /** A scratch directory on the host: the seed, the changes and the export go there. */
  host: string;
  environment: string;
  backend: BackendName;
  /** Checks of the caller's own, right after the sync (before the snapshot). */
  afterSync?: (workspaceId: string) => Promise<void>;
}

/**
 * The seeds' stable-workspace walkthrough, with its checks: create from a
 * seed directory, sync changes over it, snapshot, break the files, reset to
 * the snapshot, export a file, diff against the baseline. Commands it runs,
 * in order (the workspace's logs): `cat note.txt`, then the caller's, then
 * `echo broken > note.txt && rm keep.txt && touch junk` and `cat note.txt keep.txt; ls`.
 * Returns the created workspace; the caller deletes it.
 */
export async function seedWalkthrough(pyro: Pyro, options: SeedWalkthroughOptions): Promise<Awaited<ReturnType<Pyro["createWorkspace"]>>> {
  const { host } = options;
  const seed = join(host, "seed");
  mkdirSync(seed);
  writeFileSync(join(seed, "note.txt"), "hello from the seed\n");
  writeFileSync(join(seed, "keep.txt"), "unchanged\n");
  const changes = join(host, "changes");
  mkdirSync(changes);
  writeFileSync(join(changes, "note.txt"), "hello from changes\n");

  const ws = await pyro.createWorkspace({ environment: options.environment, backend: options.backend, allow_host_compat: true, seed_path: seed });
  const id = ws.workspace_id;
  expect(ws.workspace_seed).toMatchObject({ mode: "directory", source_path: seed });

  const synced = await pyro.pushWorkspaceSync({ workspace_id: id, source_path: changes });
  expect(synced).toMatchObject({ workspace_id: id, dest: "/workspace" });
  expect((await pyro.execWorkspace({ workspace_id: id, command: "cat note.txt" })).stdout).toBe("hello from changes\n");
  await options.afterSync?.(id);

  const snap = await pyro.createSnapshot({ workspace_id: id, snapshot_name: "checkpoint" });
  expect(snap).toMatchObject({ name: "checkpoint", workspace_id: id });
  expect((await pyro.listSnapshots({ workspace_id: id })).snapshots.map((s) => s.name)).toEqual(["baseline", "checkpoint"]);

  await pyro.execWorkspace({ workspace_id: id, command: "echo broken > note.txt && rm keep.txt && touch junk" });
  const reset = await pyro.resetWorkspace({ workspace_id: id, snapshot: "checkpoint" });
  expect(reset).toMatchObject({ state: "running", restored_from: "checkpoint" });
  const after = await pyro.execWorkspace({ workspace_id: id, command: "cat note.txt keep.txt; ls" });
  expect(after.stdout).toBe("hello from changes\nunchanged\nkeep.txt\nnote.txt\n");

  const out = join(host, "exported-note.txt");
  const exported = await pyro.exportWorkspace({ workspace_id: id, path: "note.txt", output_path: out });
  expect(exported).toMatchObject({ kind: "file", path: "/workspace/note.txt", output_path: out });
  expect(readFileSync(out, "utf8")).toBe("hello from changes\n");

  const diff = await pyro.diffWorkspace({ workspace_id: id });
  expect(diff.changed).toBe(true);
  expect(diff.summary).toEqual({ added: 0, modified: 1, deleted: 0 });
  const note = diff.files.find((f) => f.path === "note.txt");
  expect(note).toMatchObject({ status: "modified", kind: "file", binary: false });
  expect(note?.diff).toContain("-hello from the seed");
  expect(note?.diff).toContain("+hello from changes");
  expect(note?.diff).toMatch(/^--- a\/note\.txt/m);
  return ws;
}
