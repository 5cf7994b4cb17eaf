import { mkdtempSync, readdirSync, rmSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pruneEnvironments } from "../../src/environments/index.js";
import { draftSnapshot, fileStamp, findSnapshot, snapshotsOfImage, snapshotsRoot } from "../../src/environments/snapshots.js";

describe("boot snapshot store", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });

  /** A cache with one source file and one published snapshot of it. */
  async function cacheWithSnapshot(key = "qemu-k1") {
    const cache = mkdtempSync(join(tmpdir(), "pyro-snapstore-"));
    roots.push(cache);
    const source = join(cache, "image.ext4");
    writeFileSync(source, "image bytes");
    const draft = await draftSnapshot(cache, key, "qemu", [fileStamp(source)]);
    writeFileSync(join(draft.dir, "vmstate"), Buffer.alloc(4096, 1));
    await draft.publish(["vmstate"]);
    return { cache, source, key };
  }

  it("publishes atomically and finds a complete snapshot under its key only", async () => {
    const { cache, key } = await cacheWithSnapshot();
    expect(readdirSync(snapshotsRoot(cache))).toEqual([key]);
    expect(findSnapshot(cache, key)?.meta.files).toEqual({ vmstate: 4096 });
    expect(findSnapshot(cache, "qemu-other")).toBeUndefined();
  });

  it("lists the usable snapshots of one root image, as env inspect reports them", async () => {
    const { cache, source, key } = await cacheWithSnapshot();
    expect(snapshotsOfImage(cache, source)).toEqual([
      { key, backend: "qemu", path: join(snapshotsRoot(cache), key), bytes: 4096, created_at: expect.any(String) },
    ]);
    expect(snapshotsOfImage(cache, join(cache, "other.ext4"))).toEqual([]);
    truncateSync(join(snapshotsRoot(cache), key, "vmstate"), 1);
    expect(snapshotsOfImage(cache, source)).toEqual([]);
  });

  it("a second publish of the same key keeps the first and leaves no draft", async () => {
    const { cache, source, key } = await cacheWithSnapshot();
    const first = findSnapshot(cache, key)!.meta.created_at;
    const draft = await draftSnapshot(cache, key, "qemu", [fileStamp(source)]);
    writeFileSync(join(draft.dir, "vmstate"), "other");
    await draft.publish(["vmstate"]);
    expect(readdirSync(snapshotsRoot(cache))).toEqual([key]);
    expect(findSnapshot(cache, key)!.meta.created_at).toBe(first);
  });

  it("a cut-short state file or a changed source makes it unusable, and prune removes it saying why", async () => {
    const cut = await cacheWithSnapshot();
    truncateSync(join(snapshotsRoot(cut.cache), cut.key, "vmstate"), 100);
    expect(findSnapshot(cut.cache, cut.key)).toBeUndefined();
    const pruned = await pruneEnvironments(cut.cache);
    expect(pruned.removed).toEqual([expect.objectContaining({ kind: "snapshot", reason: "vmstate is 100 bytes, not 4096" })]);
    expect(readdirSync(snapshotsRoot(cut.cache))).toEqual([]);

    const changed = await cacheWithSnapshot();
    utimesSync(changed.source, new Date(), new Date(Date.now() + 5000));
    expect(findSnapshot(changed.cache, changed.key)).toBeUndefined();
    const reasons = (await pruneEnvironments(changed.cache)).removed.map((r) => r.reason);
    expect(reasons).toEqual([`${changed.source} changed since the snapshot was made`]);
  });

  it("prune keeps usable snapshots and live drafts, and removes drafts of dead processes", async () => {
    const { cache, source, key } = await cacheWithSnapshot();
    const live = await draftSnapshot(cache, "qemu-live", "qemu", [fileStamp(source)]);
    const dead = join(snapshotsRoot(cache), ".draft.999999999.abcdef");
    writeFileSync(dead, "");
    const result = await pruneEnvironments(cache);
    expect(result.removed.map((r) => r.path)).toEqual([dead]);
    expect(readdirSync(snapshotsRoot(cache)).sort()).toEqual([live.dir.split("/").pop(), key].sort());
    await live.abandon();
  });
});
