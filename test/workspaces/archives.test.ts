import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro, PyroError } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { gzipBomb, rawTar, type RawEntry } from "../helpers/tar.js";

async function refused(promise: Promise<unknown>, codes: string[], message?: RegExp): Promise<PyroError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected a refusal").toBeInstanceOf(PyroError);
  expect(codes).toContain((error as PyroError).code);
  if (message) expect((error as PyroError).message).toMatch(message);
  return error as PyroError;
}

// Hostile archives into the guest (seed and sync) and hostile trees out of it (export).
describe.each(SUITE_BACKENDS)("hostile archives on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  const host = mkdtempSync(join(tmpdir(), "pyro-archives-"));
  let pyro: Pyro;
  let id = "";
  const archive = (name: string, entries: RawEntry[]): string => {
    const path = join(host, name);
    writeFileSync(path, rawTar(entries));
    return path;
  };
  const guest = async (command: string): Promise<string> => (await pyro.execWorkspace({ workspace_id: id, command })).stdout;

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    id = (await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    state.cleanup();
    rmSync(host, { recursive: true, force: true });
  });

  it.skipIf(!available)(`refuses a traversal seed and leaves no workspace behind (needs ${needs})`, async () => {
    const seed = archive("seed-traversal.tar", [{ name: "../escaped-seed.txt", body: "x" }]);
    await refused(pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, seed_path: seed }), ["invalid_argument"]);
    expect((await pyro.listWorkspaces()).workspaces.map((w) => w.workspace_id)).toEqual([id]);
  });

  it.skipIf(!available)("refuses traversal, absolute names, symlink escapes with write-through, hard link escapes and devices", async () => {
    const cases: Array<[string, RawEntry[]]> = [
      ["traversal.tar", [{ name: "../../escaped.txt", body: "x" }]],
      ["absolute.tar", [{ name: "/etc/pyro-absolute", body: "x" }]],
      ["symlink.tar", [{ name: "out", type: "2", linkname: "/etc" }, { name: "out/pyro-through", body: "x" }]],
      ["symlink-rel.tar", [{ name: "up", type: "2", linkname: "../../etc" }, { name: "up/pyro-through-rel", body: "x" }]],
      ["hardlink.tar", [{ name: "hl", type: "1", linkname: "/etc/passwd" }]],
      ["hardlink-rel.tar", [{ name: "hl2", type: "1", linkname: "../etc/passwd" }]],
      ["device.tar", [{ name: "null2", type: "3" }]],
    ];
    for (const [name, entries] of cases) {
      const error = await refused(pyro.pushWorkspaceSync({ workspace_id: id, source_path: archive(name, entries) }), ["invalid_argument", "unsupported"]);
      expect(error.message).toMatch(/sync push refused/);
    }
    const outside = await guest(
      "for p in /escaped.txt /etc/pyro-absolute /etc/pyro-through /etc/pyro-through-rel /pyro-through; do test -e $p && echo LEAK $p; done; " +
        "ls -la /workspace; stat -c %h /etc/passwd; test -e /workspace/null2 && echo DEVICE",
    );
    expect(outside).not.toMatch(/LEAK|DEVICE/);
    expect(outside.trim().split("\n").at(-1)).toBe("1");
  });

  it.skipIf(!available)("refuses a tar bomb: a huge declared size, and a gzip bomb past the limit", async () => {
    const declared = archive("declared.tar", [{ name: "big.bin", size: 7 * 1024 * 1024 * 1024, body: "" }]);
    await refused(pyro.pushWorkspaceSync({ workspace_id: id, source_path: declared }), ["limit_exceeded", "invalid_argument"]);
    const bomb = join(host, "bomb.tar.gz");
    writeFileSync(bomb, gzipBomb(64 * 1024 * 1024));
    const small = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR, env: { ...process.env, PYRO_MAX_ARCHIVE_BYTES: String(4 * 1024 * 1024) } });
    await refused(small.pushWorkspaceSync({ workspace_id: id, source_path: bomb, dest: "bomb" }), ["limit_exceeded"], /larger than the limit|exceed/);
    const size = Number((await guest("du -sb /workspace/bomb 2>/dev/null | cut -f1 || echo 0")).trim() || 0);
    expect(size).toBeLessThanOrEqual(4 * 1024 * 1024 + 64 * 1024);
    await guest("rm -rf /workspace/bomb");
  });

  it.skipIf(!available)("refuses sync destinations outside /workspace, lexically and through a guest symlink", async () => {
    const dir = join(host, "tree");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "f.txt"), "f");
    await refused(pyro.pushWorkspaceSync({ workspace_id: id, source_path: dir, dest: "../etc" }), ["invalid_argument"], /outside \/workspace/);
    await refused(pyro.pushWorkspaceSync({ workspace_id: id, source_path: dir, dest: "/tmp" }), ["invalid_argument"]);
    await guest("ln -sfn /etc /workspace/etc-link");
    await refused(pyro.pushWorkspaceSync({ workspace_id: id, source_path: dir, dest: "etc-link/sub" }), ["invalid_argument"], /symlink/);
    expect(await guest("test -e /etc/sub && echo LEAK; rm /workspace/etc-link; echo done")).toBe("done\n");
    const ok = await pyro.pushWorkspaceSync({ workspace_id: id, source_path: dir, dest: "nested/dir" });
    expect(ok.dest).toBe("/workspace/nested/dir");
    expect(await guest("cat nested/dir/f.txt")).toBe("f");
  });

  it.skipIf(!available)("export never follows or recreates guest symlinks that leave the exported tree", async () => {
    await guest("mkdir -p ex/sub && echo ok > ex/ok.txt && ln -s /etc/passwd ex/passwd && ln -s ../../etc ex/sub/up && ln -s ok.txt ex/inside && ln -s /etc/passwd pw");
    const out = join(host, "export-dir");
    const result = await pyro.exportWorkspace({ workspace_id: id, path: "ex", output_path: out });
    expect(result.kind).toBe("directory");
    expect(readdirSync(out).sort()).toEqual(["inside", "ok.txt", "sub"]);
    expect(readdirSync(join(out, "sub"))).toEqual([]);
    expect(lstatSync(join(out, "inside")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(out, "inside"), "utf8")).toBe("ok\n");
    await refused(pyro.exportWorkspace({ workspace_id: id, path: "pw", output_path: join(host, "pw") }), ["invalid_argument"], /symlink/);
    expect(existsSync(join(host, "pw"))).toBe(false);
    await refused(pyro.exportWorkspace({ workspace_id: id, path: "../etc/passwd", output_path: join(host, "p2") }), ["invalid_argument"]);
  });

  it.skipIf(!available)("export refuses to clobber an existing directory; replaces a file only with a file", async () => {
    const dir = join(host, "existing-dir");
    mkdirSync(dir);
    writeFileSync(join(dir, "mine.txt"), "host data");
    await refused(pyro.exportWorkspace({ workspace_id: id, path: "ex/ok.txt", output_path: dir }), ["already_exists"]);
    await refused(pyro.exportWorkspace({ workspace_id: id, path: "ex", output_path: dir }), ["already_exists"]);
    expect(readdirSync(dir)).toEqual(["mine.txt"]);
    const file = join(host, "existing-file.txt");
    writeFileSync(file, "old");
    await refused(pyro.exportWorkspace({ workspace_id: id, path: "ex", output_path: file }), ["already_exists"]);
    await pyro.exportWorkspace({ workspace_id: id, path: "ex/ok.txt", output_path: file });
    expect(readFileSync(file, "utf8")).toBe("ok\n");
    expect(readdirSync(host).filter((n) => n.includes("pyro-export"))).toEqual([]);
  });
});
