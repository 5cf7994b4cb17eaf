import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

describe.skipIf(!sandbox.available)(`a call's own progress lines (needs ${sandbox.needs})`, () => {
  const state = tempStateDir();
  const all: string[] = [];
  let pyro: Pyro;
  beforeAll(async () => {
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, onProgress: (line) => all.push(line) });
  }, 900_000);
  afterAll(async () => {
    await pyro.close();
    state.cleanup();
  });

  it("reach only that call, also when two calls overlap; the Pyro's onProgress still gets every line", async () => {
    const lines: [string[], string[]] = [[], []];
    const input = { environment: "debian:12", backend: "sandbox", allow_host_compat: true, command: "sleep 0.3" };
    const results = await Promise.all(lines.map((own) => pyro.call("runInVm", input, { onProgress: (line) => own.push(line) })));
    results.forEach((result, i) => {
      const own = lines[i]!;
      expect(own.some((line) => line.includes(`phase=execute vm_id=${result.vm_id}`))).toBe(true);
      expect(own.join("\n")).not.toContain(results[1 - i]!.vm_id);
      expect(own.every((line) => all.includes(line))).toBe(true);
    });
  });
});
