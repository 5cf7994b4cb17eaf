import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { expectPyroError } from "../helpers/errors.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;
/** The smallest TTL the contract accepts. */
const TTL_SECONDS = 10;

describe("a workspace's TTL is an idle timeout (sandbox)", () => {
  const state = tempStateDir();
  let pyro: Pyro;

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
  }, 900_000);
  afterAll(() => state.cleanup());

  it.skipIf(!sandbox.available)(`a workspace in use outlives created_at + ttl; once idle for its ttl it is reaped (needs ${sandbox.needs})`, async () => {
    const created = await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, ttl_seconds: TTL_SECONDS });
    const id = created.workspace_id;
    const createdAt = Date.parse(created.created_at);
    expect(Date.parse(created.expires_at)).toBe(createdAt + TTL_SECONDS * 1000);

    // Use it every 2 s until well past created_at + ttl, reaping all along.
    let last = created.expires_at;
    while (Date.now() < createdAt + (TTL_SECONDS + 5) * 1000) {
      const run = await pyro.execWorkspace({ workspace_id: id, command: "echo used", timeout_seconds: 1 });
      expect(run.stdout).toBe("used\n");
      const reap = await pyro.reapExpired();
      expect(reap.reaped_workspaces).not.toContain(id);
      const status = await pyro.statusWorkspace({ workspace_id: id });
      expect(Date.parse(status.expires_at)).toBeGreaterThan(Date.parse(last));
      last = status.expires_at;
      await sleep(2000);
    }
    const alive = await pyro.statusWorkspace({ workspace_id: id });
    expect(alive.state).toBe("running");
    expect(Date.parse(alive.expires_at)).toBeGreaterThan(createdAt + TTL_SECONDS * 1000);
    expect((await pyro.listWorkspaces()).workspaces.find((w) => w.workspace_id === id)?.expires_at).toBe(alive.expires_at);

    // Watching it (status, list, logs) is not use: expires_at stays put.
    await pyro.logsWorkspace({ workspace_id: id });
    await sleep(1100);
    expect((await pyro.statusWorkspace({ workspace_id: id })).expires_at).toBe(alive.expires_at);

    // Idle: not reaped before expires_at, reaped after.
    expect((await pyro.reapExpired()).reaped_workspaces).not.toContain(id);
    await sleep(Math.max(0, Date.parse(alive.expires_at) - Date.now()) + 200);
    expect((await pyro.reapExpired()).reaped_workspaces).toEqual([id]);
    await expectPyroError(pyro.statusWorkspace({ workspace_id: id }), "not_found");
    expect(existsSync(join(state.dir, "workspaces", id))).toBe(false);
  }, 120_000);
});
