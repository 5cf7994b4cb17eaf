import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { expectPyroError } from "../helpers/errors.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

describe("delete of a directory without its record (a create killed before its first record write)", () => {
  it("finishes the delete instead of calling the id unknown; an id with no directory is still not_found", async () => {
    const state = tempStateDir();
    const pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, warmSpares: false });
    try {
      const vm = await pyro.createVm({ environment: "debian:12", backend: "sandbox", allow_host_compat: true });
      const dir = join(state.dir, "vms", vm.vm_id);
      // What a create killed before its first record write leaves: the directory, files, no record.
      rmSync(join(dir, "record.json"));
      mkdirSync(join(dir, "machine"), { recursive: true });
      writeFileSync(join(dir, "machine", "console.log"), "left behind");
      await expect(pyro.deleteVm({ vm_id: vm.vm_id })).resolves.toEqual({ vm_id: vm.vm_id, deleted: true });
      expect(existsSync(dir)).toBe(false);
      await expectPyroError(pyro.deleteVm({ vm_id: vm.vm_id }), "not_found");
    } finally {
      await pyro.close();
      state.cleanup();
    }
  });
});
