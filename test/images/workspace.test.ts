import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { seedWalkthrough } from "../helpers/seed-walkthrough.js";
import { baseRootfs, changesLayer, configOf, layerOf, manifestOf, pushImage } from "../helpers/oci-image.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

describe.each(SUITE_BACKENDS)("a workspace from an OCI image on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-image-ws-"));
  let registry: TestRegistry;
  let pyro: Pyro;
  let ref: string;

  beforeAll(async () => {
    if (!available) return;
    registry = await startRegistry();
    const layers = [layerOf(baseRootfs()), layerOf(changesLayer())];
    const config = configOf({ env: ["PATH=/bin:/usr/bin", "GREETING=hello from the image"], workingDir: "/srv/app", layers });
    const manifest = manifestOf(config, layers);
    await pushImage(registry.host, "team/ws", "v1", [config, ...layers], manifest);
    ref = `${registry.host}/team/ws:v1`;
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 300_000);
  afterAll(async () => {
    await pyro?.close();
    await registry?.stop();
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it.skipIf(!available)(`create, sync, exec, snapshot, reset, export, diff, services with the image's Env (needs ${needs})`, async () => {
    const ws = await seedWalkthrough(pyro, {
      host,
      environment: ref,
      backend,
      // A workspace keeps /workspace as its cwd (not the image's WorkingDir); the image's Env applies.
      afterSync: async (workspace_id) => {
        const probe = await pyro.execWorkspace({ workspace_id, command: "pwd; cat note.txt; echo $GREETING; cat /data/keep.txt" });
        expect(probe.stdout).toBe("/workspace\nhello from changes\nhello from the image\nversion 2\n");
      },
    });
    const id = ws.workspace_id;
    expect(ws.environment).toMatch(new RegExp(`^${registry.host}/team/ws@sha256:[0-9a-f]{64}$`));

    await pyro.startService({ workspace_id: id, service_name: "env", command: "echo \"$GREETING\" > /workspace/service-env.txt; sleep 60" });
    const service = await pyro.execWorkspace({ workspace_id: id, command: "for i in 1 2 3 4 5 6 7 8 9 10; do test -s service-env.txt && break; sleep 0.5; done; cat service-env.txt" });
    expect(service.stdout).toBe("hello from the image\n");

    await pyro.deleteWorkspace({ workspace_id: id });
  }, 900_000);
});
