import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { baseRootfs, configOf, layerOf, manifestOf, pushImage } from "../helpers/oci-image.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

describe.skipIf(!sandbox.available)(`env prune and images in use (needs ${sandbox.needs})`, () => {
  let registry: TestRegistry;
  const state = tempStateDir();
  const cache = tempStateDir("pyro-image-prune-cache-");

  beforeAll(async () => {
    // The shared guest kernel: `env pull` adds the kernel where a VM backend works, and must fetch nothing.
    if (existsSync(join(TEST_CACHE_DIR, "kernels"))) symlinkSync(join(TEST_CACHE_DIR, "kernels"), join(cache.dir, "kernels"));
    registry = await startRegistry();
    for (const name of ["used", "unused"]) {
      const layers = [layerOf(baseRootfs()), layerOf([{ path: "which", data: `${name}\n` }])];
      const config = configOf({ layers });
      await pushImage(registry.host, `prune/${name}`, "v1", [config, ...layers], manifestOf(config, layers));
    }
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    state.cleanup();
    cache.cleanup();
  });

  it("keeps the image a workspace uses and removes the others", async () => {
    const pyro = new Pyro({ stateDir: state.dir, cacheDir: cache.dir });
    const used = await pyro.pullEnvironment({ environment: `${registry.host}/prune/used:v1` });
    const unused = await pyro.pullEnvironment({ environment: `${registry.host}/prune/unused:v1` });
    const ws = await pyro.createWorkspace({ environment: `${registry.host}/prune/used:v1`, backend: "sandbox", allow_host_compat: true });
    try {
      const pruned = await pyro.pruneEnvironments({});
      const paths = pruned.removed.map((r) => r.path);
      expect(paths).toContain(unused.paths.dir);
      expect(paths).not.toContain(used.paths.dir);
      expect(existsSync(unused.paths.dir)).toBe(false);
      expect(existsSync(used.paths.root_image)).toBe(true);
      expect((await pyro.execWorkspace({ workspace_id: ws.workspace_id, command: "cat /which" })).stdout).toBe("used\n");
    } finally {
      await pyro.deleteWorkspace({ workspace_id: ws.workspace_id });
    }
    const after = await pyro.pruneEnvironments({});
    expect(after.removed.map((r) => r.path)).toContain(used.paths.dir);
  }, 300_000);
});
