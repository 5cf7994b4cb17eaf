import { describe, expect, it } from "vitest";
import { parseWorkspacePatch } from "../../src/core/workspaces/patch.js";
import { decodeText } from "../../src/core/workspaces/files.js";
import { PyroError } from "../../src/index.js";

const refusal = (patch: string): string => {
  try {
    parseWorkspacePatch(patch);
  } catch (error) {
    expect(error).toBeInstanceOf(PyroError);
    expect((error as PyroError).code).toBe("invalid_argument");
    return (error as PyroError).message;
  }
  throw new Error("the patch was accepted");
};

// The host's half of patch apply, without a guest: which patches are refused before anything is read.
describe("parsing a workspace patch", () => {
  it("reads git and diff -u headers, strips a/ and b/, and tells added, modified and deleted apart", () => {
    const files = parseWorkspacePatch(
      "--- a/src/x.py\t2024-01-01 10:00:00.000000000 +0000\n+++ b/src/x.py\t2024-01-01 10:00:01.000000000 +0000\n@@ -1 +1 @@\n-a\n+b\n" +
        "--- /dev/null\n+++ /workspace/new.txt\n@@ -0,0 +1 @@\n+n\n\\ No newline at end of file\n" +
        "diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-g\n" +
        "diff --git a/empty.txt b/empty.txt\nnew file mode 100644\nindex 0000000..e69de29\n",
    );
    expect(files.map((f) => [f.rel, f.status])).toEqual([
      ["src/x.py", "modified"],
      ["new.txt", "added"],
      ["gone.txt", "deleted"],
      ["empty.txt", "added"],
    ]);
  });

  it("refuses text that is no diff, binary patches, renames, duplicates and paths out of /workspace", () => {
    expect(refusal("fix the bug on line 3")).toMatch(/not a unified diff/);
    expect(refusal("")).toMatch(/not a unified diff/);
    expect(refusal("@@ -1 +1 @@\n-a\n+b\n")).toMatch(/not a unified diff/);
    expect(refusal("diff --git a/i.png b/i.png\nindex 1..2 100644\nBinary files a/i.png and b/i.png differ\n")).toMatch(/binary/);
    expect(refusal("diff --git a/a.txt b/b.txt\nsimilarity index 100%\nrename from a.txt\nrename to b.txt\n")).toMatch(/renames/);
    expect(refusal("--- a/a.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-a\n+b\n")).toMatch(/renames a.txt to b.txt/);
    const twice = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n";
    expect(refusal(twice + twice)).toMatch(/names \/workspace\/a.txt more than once/);
    expect(refusal("--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n")).toMatch(/outside \/workspace/);
    expect(refusal("--- /dev/null\n+++ /etc/cron.d/x\n@@ -0,0 +1 @@\n+x\n")).toMatch(/outside \/workspace/);
    expect(refusal("diff --git a/run.sh b/run.sh\nindex 1..2 100644\n")).toMatch(/no hunks and no mode change/);
  });

  it("takes git's executable modes: new 100755 files, and mode changes with or without hunks", () => {
    const files = parseWorkspacePatch(
      "diff --git a/run.sh b/run.sh\nnew file mode 100755\n--- /dev/null\n+++ b/run.sh\n@@ -0,0 +1 @@\n+echo hi\n" +
        "diff --git a/plain.txt b/plain.txt\nnew file mode 100644\n--- /dev/null\n+++ b/plain.txt\n@@ -0,0 +1 @@\n+x\n" +
        "diff --git a/tool b/tool\nold mode 100644\nnew mode 100755\n" +
        "diff --git a/lib.sh b/lib.sh\nold mode 100755\nnew mode 100644\n--- a/lib.sh\n+++ b/lib.sh\n@@ -1 +1 @@\n-a\n+b\n",
    );
    expect(files.map((f) => [f.rel, f.status, f.executable])).toEqual([
      ["run.sh", "added", true],
      ["plain.txt", "added", null],
      ["tool", "modified", true],
      ["lib.sh", "modified", false],
    ]);
  });

  it("refuses a patch of more than 1000 files with limit_exceeded", () => {
    const patch = (n: number) => Array.from({ length: n }, (_, i) => `--- /dev/null\n+++ b/f${i}.txt\n@@ -0,0 +1 @@\n+x\n`).join("");
    expect(parseWorkspacePatch(patch(1000))).toHaveLength(1000);
    expect(() => parseWorkspacePatch(patch(1001))).toThrow(expect.objectContaining({ code: "limit_exceeded", message: expect.stringMatching(/1001 files, over the limit of 1000/) }));
  });
});

describe("decoding what a read returned", () => {
  it("keeps text, keeps a character cut by the bound as text, and calls NUL or invalid UTF-8 binary", () => {
    expect(decodeText(Buffer.from("héllo"), false)).toEqual({ text: "héllo", binary: false });
    const cut = Buffer.from("abé").subarray(0, 3); // half of é
    expect(decodeText(cut, true)).toEqual({ text: "ab", binary: false });
    expect(decodeText(cut, false).binary).toBe(true);
    expect(decodeText(Buffer.from([0x50, 0x00, 0x51]), false).binary).toBe(true);
    expect(decodeText(Buffer.from([0xff, 0xfe, 0x41]), true).binary).toBe(true);
    expect(decodeText(Buffer.from("ok😀").subarray(0, 4), true)).toEqual({ text: "ok", binary: false });
    expect(decodeText(Buffer.from("ok😀"), true)).toEqual({ text: "ok😀", binary: false });
  });
});
