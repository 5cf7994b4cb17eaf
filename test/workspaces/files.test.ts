import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pyro } from "../../src/index.js";
import { ensureEnvironment } from "../../src/environments/index.js";
import { SUITE_BACKENDS } from "../helpers/backends.js";
import { TEST_CACHE_DIR, tempStateDir } from "../helpers/env.js";
import { expectPyroError } from "../helpers/errors.js";

/** A patch adding new/hello.txt, modifying app.py and deleting old.txt. */
const THREE_FILE_PATCH = `diff --git a/new/hello.txt b/new/hello.txt
new file mode 100644
--- /dev/null
+++ b/new/hello.txt
@@ -0,0 +1,2 @@
+hello
+world
diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,3 +1,3 @@
 def answer():
-    return 41
+    return 42
 
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-obsolete
`;

// The file API and patch apply through the SDK, end to end on each backend (the CLI and MCP faces: files-faces.test.ts).
describe.each(SUITE_BACKENDS)("workspace files on $name", ({ name: backend, available, needs }) => {
  const state = tempStateDir();
  // The create-time baseline holds the files the patch modifies and deletes, so workspace diff shows all three kinds.
  const seed = mkdtempSync(join(tmpdir(), "pyro-files-seed-"));
  writeFileSync(join(seed, "app.py"), "def answer():\n    return 41\n\n");
  writeFileSync(join(seed, "old.txt"), "obsolete\n");
  let pyro: Pyro;
  let id: string;
  const sh = async (command: string) => (await pyro.execWorkspace({ workspace_id: id, command })).stdout;

  beforeAll(async () => {
    if (!available) return;
    await ensureEnvironment("debian:12", { cacheDir: TEST_CACHE_DIR, kernel: backend !== "sandbox" });
    pyro = new Pyro({ stateDir: state.dir, cacheDir: TEST_CACHE_DIR });
    id = (await pyro.createWorkspace({ environment: "debian:12", backend, allow_host_compat: true, seed_path: seed })).workspace_id;
  }, 900_000);
  afterAll(async () => {
    if (id) await pyro.deleteWorkspace({ workspace_id: id }).catch(() => undefined);
    await pyro?.close();
    state.cleanup();
    rmSync(seed, { recursive: true, force: true });
  }, 120_000);

  it.skipIf(!available)(`writes a file, reads it back and lists it, with the mode a shell's > gives (needs ${needs})`, async () => {
    const written = await pyro.writeWorkspaceFile({ workspace_id: id, path: "src/deep/note.txt", text: "héllo\nworld\n" });
    expect(written).toEqual({ workspace_id: id, path: "/workspace/src/deep/note.txt", size_bytes: 13, bytes_written: 13, created: true });
    const read = await pyro.readWorkspaceFile({ workspace_id: id, path: "/workspace/src/deep/note.txt" });
    expect(read).toMatchObject({ path: "/workspace/src/deep/note.txt", content: "héllo\nworld\n", size_bytes: 13, max_bytes: 65536, truncated: false, binary: false });
    expect(read.sha256).toBe((await sh("sha256sum src/deep/note.txt")).split(" ")[0]);
    // The guest agrees on the bytes, and a shell's > gives a new file and directory the same modes.
    expect(await sh("cat src/deep/note.txt; echo x > shell.txt; stat -c %a src/deep/note.txt shell.txt src/deep")).toBe("héllo\nworld\n644\n644\n755\n");

    const top = await pyro.listWorkspaceFiles({ workspace_id: id });
    expect(top.path).toBe("/workspace");
    expect(top.entries.map((e) => [e.path, e.kind])).toEqual([
      ["/workspace/app.py", "file"],
      ["/workspace/old.txt", "file"],
      ["/workspace/shell.txt", "file"],
      ["/workspace/src", "directory"],
    ]);
    const all = await pyro.listWorkspaceFiles({ workspace_id: id, path: "src", recursive: true });
    expect(all.entries.map((e) => e.path)).toEqual(["/workspace/src/deep", "/workspace/src/deep/note.txt"]);
    expect(all.entries[1]).toMatchObject({ kind: "file", size_bytes: 13, mode: "0644", link_target: null });

    // An existing file keeps its mode (and inode) when rewritten, as with >.
    await sh("chmod 750 shell.txt; stat -c %i shell.txt > /tmp/inode");
    const again = await pyro.writeWorkspaceFile({ workspace_id: id, path: "shell.txt", text: "#!/bin/sh\necho rewritten\n" });
    expect(again.created).toBe(false);
    expect(await sh("./shell.txt; stat -c %a shell.txt; [ $(stat -c %i shell.txt) = $(cat /tmp/inode) ] && echo same-inode")).toBe("rewritten\n750\nsame-inode\n");
  }, 300_000);

  it.skipIf(!available)(`reports binary content as binary and cuts long reads (needs ${needs})`, async () => {
    await sh("printf 'PNG\\000\\001\\002' > blob.bin; head -c 100000 /dev/zero | tr '\\0' 'a' > long.txt");
    const blob = await pyro.readWorkspaceFile({ workspace_id: id, path: "blob.bin" });
    expect(blob).toMatchObject({ binary: true, content: "", size_bytes: 6, truncated: false });
    expect(blob.sha256).toBe((await sh("sha256sum blob.bin")).split(" ")[0]);
    const long = await pyro.readWorkspaceFile({ workspace_id: id, path: "long.txt", max_bytes: 1000 });
    expect(long).toMatchObject({ size_bytes: 100000, truncated: true, binary: false });
    expect(long.content).toBe("a".repeat(1000));
  }, 300_000);

  it.skipIf(!available)(`applies a three-file patch (add, modify, delete) that workspace diff then shows (needs ${needs})`, async () => {
    const applied = await pyro.applyWorkspacePatch({ workspace_id: id, patch: THREE_FILE_PATCH });
    expect(applied).toEqual({
      workspace_id: id,
      changed: true,
      summary: { total: 3, added: 1, modified: 1, deleted: 1 },
      entries: [
        { path: "/workspace/new/hello.txt", status: "added" },
        { path: "/workspace/app.py", status: "modified" },
        { path: "/workspace/old.txt", status: "deleted" },
      ],
    });
    expect(await sh("cat new/hello.txt app.py; ls old.txt 2>&1 || true; ls -a new")).toBe(
      "hello\nworld\ndef answer():\n    return 42\n\nls: cannot access 'old.txt': No such file or directory\n.\n..\nhello.txt\n",
    );
    const diff = await pyro.diffWorkspace({ workspace_id: id });
    const byPath = Object.fromEntries(diff.files.map((f) => [f.path, f]));
    expect(byPath["new/hello.txt"]).toMatchObject({ status: "added", kind: "file" });
    expect(byPath["app.py"]).toMatchObject({ status: "modified", kind: "file" });
    expect(byPath["app.py"]?.diff).toContain("-    return 41\n+    return 42");
    expect(byPath["old.txt"]).toMatchObject({ status: "deleted" });
    // Applied once, the same patch no longer fits: the added file exists, the hunks do not match.
    const again = await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch: THREE_FILE_PATCH }), "failed_precondition");
    expect(again.message).toContain("/workspace/new/hello.txt already exists, so it cannot be added");
    expect(again.message).toContain("/workspace/old.txt does not exist, so it cannot be deleted");
  }, 600_000);

  it.skipIf(!available)(`gives a new 100755 file of a git patch its execute bits, and applies a mode-only change (needs ${needs})`, async () => {
    const patch =
      "diff --git a/bin/run.sh b/bin/run.sh\nnew file mode 100755\n--- /dev/null\n+++ b/bin/run.sh\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+echo ran\n" +
      "diff --git a/app.py b/app.py\nold mode 100644\nnew mode 100755\n";
    const applied = await pyro.applyWorkspacePatch({ workspace_id: id, patch });
    expect(applied.summary).toEqual({ total: 2, added: 1, modified: 1, deleted: 0 });
    expect(await sh("./bin/run.sh; stat -c %a bin/run.sh app.py; cat app.py")).toBe("ran\n755\n755\ndef answer():\n    return 42\n\n");
  }, 300_000);

  it.skipIf(!available)(`changes nothing when the third file does not match, and says which hunk and lines (needs ${needs})`, async () => {
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "one.txt", text: "1\n" });
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "two.txt", text: "a\nb\nc\n" });
    await pyro.writeWorkspaceFile({ workspace_id: id, path: "three.txt", text: "x\nactual\nz\n" });
    const before = await sh("cd /workspace && find . -type f | sort | xargs sha256sum");
    const patch = [
      "--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1 @@\n+added\n",
      "--- a/two.txt\n+++ b/two.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n",
      "--- a/one.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-1\n",
      "--- a/three.txt\n+++ b/three.txt\n@@ -1,3 +1,3 @@\n x\n-expected\n+replaced\n z\n",
    ].join("");
    const error = await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch }), "failed_precondition");
    expect(error.message).toContain("nothing was changed");
    expect(error.message).toContain('/workspace/three.txt: hunk 1 of 1 (@@ -1,3 +1,3 @@) does not match: line 2: expected "expected", found "actual"');
    expect(error.hint).toMatch(/read the files again/);
    expect(await sh("cd /workspace && find . -type f | sort | xargs sha256sum")).toBe(before);
    expect(await sh("ls -a /workspace | grep -c pyro-patch || true")).toBe("0\n");
  }, 300_000);

  it.skipIf(!available)(`refuses bad input and keeps every read and write inside /workspace (needs ${needs})`, async () => {
    await sh("echo outside > /tmp/outside.txt; ln -sfn /tmp/outside.txt out-file; ln -sfn /tmp out-dir; ln -sfn ../../shell.txt src/deep/in-link; mkdir -p adir");
    for (const path of ["../etc/passwd", "src/../../etc/passwd", "/etc/passwd", "/workspacex/a"]) {
      const e = await expectPyroError(pyro.readWorkspaceFile({ workspace_id: id, path }), "invalid_argument");
      expect(e.message).toMatch(/outside \/workspace/);
      await expectPyroError(pyro.writeWorkspaceFile({ workspace_id: id, path, text: "x" }), "invalid_argument");
    }
    for (const path of ["out-file", "out-dir/outside.txt"]) {
      const e = await expectPyroError(pyro.readWorkspaceFile({ workspace_id: id, path }), "invalid_argument");
      expect(e.message).toContain("leads outside /workspace through a symlink");
      expect(e.hint).toMatch(/symlink/);
      await expectPyroError(pyro.writeWorkspaceFile({ workspace_id: id, path, text: "pwned" }), "invalid_argument");
    }
    await expectPyroError(pyro.writeWorkspaceFile({ workspace_id: id, path: "out-dir/new.txt", text: "pwned" }), "invalid_argument");
    await expectPyroError(pyro.listWorkspaceFiles({ workspace_id: id, path: "out-dir" }), "invalid_argument");
    expect(await sh("cat /tmp/outside.txt; ls /tmp/new.txt 2>/dev/null || echo no-new")).toBe("outside\nno-new\n");
    // A symlink that stays inside /workspace is followed.
    expect((await pyro.readWorkspaceFile({ workspace_id: id, path: "src/deep/in-link" })).content).toBe("#!/bin/sh\necho rewritten\n");

    const dir = await expectPyroError(pyro.readWorkspaceFile({ workspace_id: id, path: "adir" }), "invalid_argument");
    expect(dir.message).toBe("/workspace/adir is a directory, not a file");
    await expectPyroError(pyro.readWorkspaceFile({ workspace_id: id, path: "missing.txt" }), "not_found");

    // 1 GiB, sparse: the read costs max_bytes, not the file.
    await sh("printf 'head' > huge.txt; truncate -s 1G huge.txt");
    const started = Date.now();
    const huge = await pyro.readWorkspaceFile({ workspace_id: id, path: "huge.txt", max_bytes: 4 });
    expect(huge).toMatchObject({ content: "head", truncated: true, size_bytes: 1024 ** 3, binary: false });
    expect(Date.now() - started).toBeLessThan(30_000);
    const big = await pyro.readWorkspaceFile({ workspace_id: id, path: "huge.txt" });
    expect(big).toMatchObject({ truncated: true, max_bytes: 65536, binary: true, size_bytes: 1024 ** 3 });

    const tooBig = await expectPyroError(pyro.writeWorkspaceFile({ workspace_id: id, path: "big.txt", text: "a".repeat(4 * 1024 * 1024 + 1) }), "invalid_argument");
    expect(tooBig.message).toContain("text is longer than the limit of 4 MiB (4194304 bytes)");
    expect(tooBig.message).toContain("workspace_sync_push");
    const exactly = await pyro.writeWorkspaceFile({ workspace_id: id, path: "big.txt", text: "a".repeat(4 * 1024 * 1024) });
    expect(exactly.bytes_written).toBe(4 * 1024 * 1024);
    await expectPyroError(pyro.readWorkspaceFile({ workspace_id: id, path: "big.txt", max_bytes: 4 * 1024 * 1024 + 1 }), "invalid_argument");

    const notDiff = await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch: "please change line 3 to say hi" }), "invalid_argument");
    expect(notDiff.message).toMatch(/not a unified diff/);
    const binary = "diff --git a/logo.png b/logo.png\nnew file mode 100644\nindex 0000000..1111111\nGIT binary patch\nliteral 4\nLcmZ?l\n\nliteral 0\nHcmV?d00001\n\n";
    expect((await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch: binary }), "invalid_argument")).message).toMatch(/binary/);
    const dup = "--- a/one.txt\n+++ b/one.txt\n@@ -1 +1 @@\n-1\n+2\n--- a/one.txt\n+++ b/one.txt\n@@ -1 +1 @@\n-2\n+3\n";
    expect((await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch: dup }), "invalid_argument")).message).toMatch(/more than once/);
    const escape = "--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-root\n+evil\n";
    expect((await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch: escape }), "invalid_argument")).message).toMatch(/outside \/workspace/);
    const absolute = "--- /dev/null\n+++ /etc/evil\n@@ -0,0 +1 @@\n+evil\n";
    await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch: absolute }), "invalid_argument");
    // Through a symlink out: refused in the guest, nothing written.
    const viaLink = "--- /dev/null\n+++ b/out-dir/evil.txt\n@@ -0,0 +1 @@\n+evil\n";
    await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch: viaLink }), "invalid_argument");
    expect(await sh("ls /tmp/evil.txt /etc/evil 2>/dev/null || echo none")).toBe("none\n");
    // Many failures: the message names 20 and counts the rest; details list them all.
    const missing = Array.from({ length: 25 }, (_, i) => `--- a/missing-${i}.txt\n+++ b/missing-${i}.txt\n@@ -1 +1 @@\n-a\n+b\n`).join("");
    const many = await expectPyroError(pyro.applyWorkspacePatch({ workspace_id: id, patch: missing }), "failed_precondition");
    expect(many.message).toContain("/workspace/missing-0.txt does not exist, so it cannot be modified");
    expect(many.message).toContain("; and 5 more (details.failures lists all)");
    expect((many.details?.failures as string[]).length).toBe(25);
    expect(await sh("cat one.txt")).toBe("1\n");
  }, 600_000);
});
