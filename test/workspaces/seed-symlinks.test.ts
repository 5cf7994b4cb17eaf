import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro, PyroError } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { rawTar, type RawEntry } from "../helpers/tar.js";

const sandbox = SUITE_BACKENDS.find((b) => b.name === "sandbox")!;

// Issue 20: symlinks in seeds and archives are kept as links (absolute or
// relative) and never followed out of /workspace; counts are what the user pushed.
describe("seed and sync symlinks, entry counts (sandbox)", () => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-seed-links-"));
  let pyro: Pyro;
  let id = "";
  const guest = async (command: string): Promise<string> => (await pyro.execWorkspace({ workspace_id: id, command })).stdout;
  const archive = (name: string, entries: RawEntry[]): string => {
    const path = join(host, name);
    writeFileSync(path, rawTar(entries));
    return path;
  };
  const refusal = async (promise: Promise<unknown>): Promise<PyroError> => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PyroError);
    return error as PyroError;
  };

  beforeAll(async () => {
    if (!sandbox.available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: false });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
  }, 900_000);
  afterAll(async () => {
    if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it.skipIf(!sandbox.available)(`a seed directory with absolute and relative symlinks seeds, each stored as the link (needs ${sandbox.needs})`, async () => {
    const seed = join(host, "repo");
    mkdirSync(join(seed, "d"), { recursive: true });
    writeFileSync(join(seed, "d", "f.txt"), "inside\n");
    symlinkSync("/etc/passwd", join(seed, "link"));
    symlinkSync("../../outside", join(seed, "d", "up"));
    symlinkSync("d", join(seed, "s"));
    const created = await pyro.createWorkspace({ environment: "debian:12", backend: "sandbox", allow_host_compat: true, seed_path: seed });
    id = created.workspace_id;
    // d, d/f.txt, d/up, link, s: the archive's "./" is /workspace itself.
    expect(created.workspace_seed).toMatchObject({ mode: "directory", entries: 5 });
    expect(await guest("readlink link; readlink d/up; readlink s; cat s/f.txt")).toBe("/etc/passwd\n../../outside\nd\ninside\n");
  });

  it.skipIf(!sandbox.available)("syncing one file reports 1 entry, and exporting it reports 1", async () => {
    const one = join(host, "one");
    mkdirSync(one);
    writeFileSync(join(one, "note.txt"), "one\n");
    expect(await pyro.pushWorkspaceSync({ workspace_id: id, source_path: one })).toMatchObject({ entries: 1 });
    const exported = await pyro.exportWorkspace({ workspace_id: id, path: "note.txt", output_path: join(host, "note.txt") });
    expect(exported.entries).toBe(1);
  });

  it.skipIf(!sandbox.available)("writes through a symlink that stays inside /workspace, relative or absolute", async () => {
    const tar = archive("inside.tar", [
      { name: "s2", type: "2", linkname: "d" },
      { name: "s2/g.txt", body: "via s2\n" },
      { name: "abs", type: "2", linkname: "/workspace/d" },
      { name: "abs/h.txt", body: "via abs\n" },
    ]);
    expect(await pyro.pushWorkspaceSync({ workspace_id: id, source_path: tar })).toMatchObject({ entries: 4 });
    expect(await guest("cat d/g.txt d/h.txt; readlink s2 abs")).toBe("via s2\nvia abs\nd\n/workspace/d\n");
  });

  it.skipIf(!sandbox.available)("refuses only a write through a symlink that leaves /workspace, naming that entry; hard-link errors name the link", async () => {
    for (const [name, entries, entry] of [
      ["out.tar", [{ name: "out", type: "2", linkname: "/etc" }, { name: "out/pyro-through", body: "x" }], "out/pyro-through"],
      ["seeded-link.tar", [{ name: "link/pyro-through", body: "x" }], "link/pyro-through"],
      ["up.tar", [{ name: "d/up/pyro-through", body: "x" }], "d/up/pyro-through"],
    ] as Array<[string, RawEntry[], string]>) {
      const error = await refusal(pyro.pushWorkspaceSync({ workspace_id: id, source_path: archive(name, entries) }));
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toContain(`entry "${entry}" would be written through symlink`);
    }
    expect(await guest("readlink out; for p in /etc/pyro-through /etc/passwd/pyro-through /outside; do test -e $p && echo LEAK $p; done; echo ok")).toBe("/etc\nok\n");
    const hard = await refusal(pyro.pushWorkspaceSync({ workspace_id: id, source_path: archive("hl.tar", [{ name: "hl", type: "1", linkname: "/etc/passwd" }]) }));
    expect(hard.message).toContain('hard link "hl" -> "/etc/passwd" refused');
    expect(hard.message).not.toContain("absolute entry name");
  });
});
