import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

// The stable-workspace walkthrough of the seeds, end to end, as one test per backend.
describe.each(SUITE_BACKENDS)("workspace walkthrough on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-walk-"));
  let pyro: Pyro;

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 900_000);
  afterAll(() => {
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it.skipIf(!available)(`create, sync, snapshot, reset, export, diff, logs, delete (needs ${needs})`, async () => {
    const seed = join(host, "seed");
    mkdirSync(seed);
    writeFileSync(join(seed, "note.txt"), "hello from the seed\n");
    writeFileSync(join(seed, "keep.txt"), "unchanged\n");
    const changes = join(host, "changes");
    mkdirSync(changes);
    writeFileSync(join(changes, "note.txt"), "hello from changes\n");

    const ws = await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, seed_path: seed });
    const id = ws.workspace_id;
    expect(ws.workspace_seed).toMatchObject({ mode: "directory", source_path: seed });

    const synced = await pyro.pushWorkspaceSync({ workspace_id: id, source_path: changes });
    expect(synced).toMatchObject({ workspace_id: id, dest: "/workspace" });
    expect((await pyro.execWorkspace({ workspace_id: id, command: "cat note.txt" })).stdout).toBe("hello from changes\n");

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

    const logs = await pyro.logsWorkspace({ workspace_id: id });
    expect(logs.entries.map((e) => e.command)).toEqual(["cat note.txt", "echo broken > note.txt && rm keep.txt && touch junk", "cat note.txt keep.txt; ls"]);

    expect(await pyro.deleteWorkspace({ workspace_id: id })).toEqual({ workspace_id: id, deleted: true });
  }, 600_000);
});
