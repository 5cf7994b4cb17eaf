import { createHash, randomBytes } from "node:crypto";
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentRelPaths } from "../../src/environments/build/rootfs.js";
import { treeDigest } from "../../src/environments/build/tree-digest.js";
import { environmentPaths } from "../../src/environments/layout.js";
import { SHARED_CACHE, sharedBaseEnvironment, tempDir } from "./fixture.js";

const IS_ROOT = process.getuid?.() === 0;
const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

describe("treeDigest", () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir("pyro-tree-"));
  });
  afterEach(() => cleanup());

  it("digests each entry as the documented line: a file read in several pieces", async () => {
    // Past the 1 MiB read buffer, and not a multiple of it.
    const content = randomBytes(3 * 1024 * 1024 + 7);
    writeFileSync(join(dir, "big"), content);
    chmodSync(join(dir, "big"), 0o640);
    const { uid, gid } = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const summary = await treeDigest(dir);
    expect(summary.digest).toBe(`sha256:${sha256(`f 640 ${uid}:${gid} ${content.length} ${sha256(content)} "big"\n`)}`);
    expect(summary.fileCount).toBe(1);
  });

  it("covers directories and symlink targets in sorted pre-order", async () => {
    mkdirSync(join(dir, "b"));
    chmodSync(join(dir, "b"), 0o1777);
    symlinkSync("../elsewhere", join(dir, "b", "link"));
    mkdirSync(join(dir, "a"));
    chmodSync(join(dir, "a"), 0o700);
    const { uid, gid } = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const lines = [`d 700 ${uid}:${gid} "a"`, `d 1777 ${uid}:${gid} "b"`, `l 777 ${uid}:${gid} "../elsewhere" "b/link"`];
    expect((await treeDigest(dir)).digest).toBe(`sha256:${sha256(lines.map((line) => `${line}\n`).join(""))}`);
  });

  it("changes with content, mode, symlink target and names, not with timestamps or excluded paths", async () => {
    mkdirSync(join(dir, "etc"));
    writeFileSync(join(dir, "etc", "config"), "a=1\n");
    symlinkSync("config", join(dir, "etc", "link"));
    writeFileSync(join(dir, "agent"), "v1");
    const exclude = new Set(["agent"]);
    const base = (await treeDigest(dir, exclude)).digest;

    utimesSync(join(dir, "etc", "config"), new Date(0), new Date(0));
    writeFileSync(join(dir, "agent"), "v2, a longer binary");
    expect((await treeDigest(dir, exclude)).digest).toBe(base);

    const variants: Array<[string, () => void, () => void]> = [
      ["content", () => writeFileSync(join(dir, "etc", "config"), "a=2\n"), () => writeFileSync(join(dir, "etc", "config"), "a=1\n")],
      ["mode", () => chmodSync(join(dir, "etc", "config"), 0o4755), () => chmodSync(join(dir, "etc", "config"), 0o644)],
      ["symlink target", () => (rmSync(join(dir, "etc", "link")), symlinkSync("other", join(dir, "etc", "link"))), () => (rmSync(join(dir, "etc", "link")), symlinkSync("config", join(dir, "etc", "link")))],
      ["new empty file", () => writeFileSync(join(dir, "etc", "empty"), ""), () => rmSync(join(dir, "etc", "empty"))],
    ];
    chmodSync(join(dir, "etc", "config"), 0o644);
    const restored = (await treeDigest(dir, exclude)).digest;
    for (const [what, change, undo] of variants) {
      change();
      expect((await treeDigest(dir, exclude)).digest, what).not.toBe(restored);
      undo();
      expect((await treeDigest(dir, exclude)).digest, `${what} undone`).toBe(restored);
    }
  });

  it.skipIf(!IS_ROOT)("changes with the numeric owner (chown needs root)", async () => {
    writeFileSync(join(dir, "file"), "x");
    const before = (await treeDigest(dir)).digest;
    chownSync(join(dir, "file"), 1000, 1000);
    expect((await treeDigest(dir)).digest).not.toBe(before);
  });

  it("counts a hard-linked file's blocks once, and its second name as an entry", async () => {
    writeFileSync(join(dir, "data"), randomBytes(256 * 1024));
    const one = await treeDigest(dir);
    linkSync(join(dir, "data"), join(dir, "alias"));
    const two = await treeDigest(dir);
    expect(two.fileCount).toBe(one.fileCount + 1);
    expect(two.sizeBytes).toBe(one.sizeBytes);
    expect(two.digest).not.toBe(one.digest);
  });

  it("rejects a root that is not there", async () => {
    await expect(treeDigest(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("treeDigest of a real environment", () => {
  it("reproduces the digest and count recorded when the environment was built, and lets timers run meanwhile", async () => {
    const installed = await sharedBaseEnvironment();
    const paths = environmentPaths(SHARED_CACHE, installed.name);
    const recorded = (JSON.parse(readFileSync(paths.manifest, "utf8")) as { rootfs: { tree_digest: string; file_count: number } }).rootfs;
    const rootfs = paths.rootfs;
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    let summary;
    try {
      summary = await treeDigest(rootfs, new Set(await agentRelPaths(rootfs)));
    } finally {
      clearInterval(timer);
    }
    expect(summary.digest).toBe(recorded.tree_digest);
    expect(summary.fileCount).toBe(recorded.file_count);
    expect(summary.digest).toBe(installed.digests.rootfs_tree);
    // Thousands of files, read in slices of the event loop: a 5 ms timer fired in between.
    expect(ticks).toBeGreaterThan(1);
  }, 600_000);
});
