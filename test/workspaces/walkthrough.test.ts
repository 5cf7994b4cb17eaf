import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { seedWalkthrough } from "../helpers/seed-walkthrough.js";

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
    const { workspace_id: id } = await seedWalkthrough(pyro, { host, environment: "debian:12", backend });

    const logs = await pyro.logsWorkspace({ workspace_id: id });
    expect(logs.entries.map((e) => e.command)).toEqual(["cat note.txt", "echo broken > note.txt && rm keep.txt && touch junk", "cat note.txt keep.txt; ls"]);

    expect(await pyro.deleteWorkspace({ workspace_id: id })).toEqual({ workspace_id: id, deleted: true });
  }, 600_000);
});
