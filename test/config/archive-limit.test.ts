import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { expectPyroError } from "../helpers/errors.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
const LIMIT = 1024 * 1024;

/**
 * `PYRO_MAX_ARCHIVE_BYTES` (through `new Pyro({ env })`) bounds every archive
 * a workspace moves: seed, sync, export, diff, snapshot and reset. One
 * workspace holds a 2 MiB file (baseline included); a second Pyro over the
 * same state, with a 1 MiB limit, must refuse each of them.
 */
describe.skipIf(!sandbox.available)(`PYRO_MAX_ARCHIVE_BYTES on every archive path (needs ${sandbox.needs})`, () => {
  const state = tempStateDir("pyro-archive-limit-");
  const host = mkdtempSync(join(tmpdir(), "pyro-archive-limit-host-"));
  const seed = join(host, "seed");
  let pyro: Pyro;
  let small: Pyro;
  let id = "";

  beforeAll(async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    mkdirSync(seed);
    writeFileSync(join(seed, "big.bin"), Buffer.alloc(2 * LIMIT, 7));
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
    small = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false, env: { ...process.env, PYRO_MAX_ARCHIVE_BYTES: String(LIMIT) } });
    id = (await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, seed_path: seed })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it("refuses a seed, a sync, an export, a diff, a snapshot and a reset over the limit", async () => {
    expect(small.config.maxArchiveBytes).toBe(LIMIT);
    const refusals = [
      ["seed", () => small.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, seed_path: seed })],
      ["sync", () => small.pushWorkspaceSync({ workspace_id: id, source_path: seed, dest: "again" })],
      ["export", () => small.exportWorkspace({ workspace_id: id, path: "big.bin", output_path: join(host, "out.bin") })],
      ["diff", () => small.diffWorkspace({ workspace_id: id })],
      ["snapshot", () => small.createSnapshot({ workspace_id: id, snapshot_name: "s1" })],
      ["reset", () => small.resetWorkspace({ workspace_id: id })],
    ] as const;
    // One at a time: each call starts only when the previous one is refused.
    for (const [what, call] of refusals) {
      const error = await expectPyroError(call(), "limit_exceeded").catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
      // The configured bound, not the 4 GiB default, is the one named.
      expect(error.message, what).toContain(String(LIMIT));
    }
    // The seed refused leaves no workspace behind; the default limit still takes it all.
    expect((await pyro.listWorkspaces()).workspaces.map((w) => w.workspace_id)).toEqual([id]);
    await pyro.resetWorkspace({ workspace_id: id });
    expect((await pyro.execWorkspace({ workspace_id: id, command: "stat -c %s big.bin" })).stdout).toBe(`${2 * LIMIT}\n`);
  });
});
