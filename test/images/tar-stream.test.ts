import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { TarStream, type TarHeader } from "../../src/environments/image/tar-stream.js";
import { tarOf } from "../helpers/oci-image.js";

/** Parse `bytes` (fed in `chunk`-byte pieces); the members with their data. */
async function parse(bytes: Buffer, chunk = 7777) {
  const members: Array<TarHeader & { data: string }> = [];
  const stream = new TarStream((header) => {
    const parts: Buffer[] = [];
    return { data: (c) => parts.push(Buffer.from(c)), end: () => members.push({ ...header, data: Buffer.concat(parts).toString("utf8") }) };
  }, () => undefined);
  const pieces = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  await pipeline(Readable.from(pieces), stream);
  return members;
}

describe("the layer tar reader", () => {
  it("reads ustar members, pax paths, links, devices and xattrs in any chunking", async () => {
    const long = `deep/${"d".repeat(120)}/file`;
    const bytes = tarOf([
      { path: "a/", type: "dir", mode: 0o750 },
      { path: "a/f", data: "hello", uid: 1000, gid: 100 },
      { path: long, data: "long", pax: { "SCHILY.xattr.user.k": "v" } },
      { path: "l", type: "symlink", linkpath: "a/f" },
      { path: "h", type: "link", linkpath: "a/f" },
      { path: "null", type: "char", devmajor: 1, devminor: 3 },
    ]);
    for (const chunk of [1, 511, 512, 4096, 1 << 20]) {
      const members = await parse(bytes, chunk);
      expect(members.map((m) => [m.path, m.type, m.data])).toEqual([
        ["a/", "dir", ""],
        ["a/f", "file", "hello"],
        [long, "file", "long"],
        ["l", "symlink", ""],
        ["h", "link", ""],
        ["null", "char", ""],
      ]);
      expect(members[1]).toMatchObject({ uid: 1000, gid: 100, size: 5 });
      expect(members[2]?.xattrs.get("user.k")?.toString()).toBe("v");
      expect(members[5]).toMatchObject({ devmajor: 1, devminor: 3 });
    }
  });

  it("refuses a cut member, a bad checksum and piled-up pax records", async () => {
    const bytes = tarOf([{ path: "f", data: "x".repeat(2000) }]);
    await expect(parse(bytes.subarray(0, 1024))).rejects.toThrow(/ends in the middle/);
    const corrupt = Buffer.from(bytes);
    corrupt[10] = 0x41;
    await expect(parse(corrupt)).rejects.toThrow(/checksum/);
    const records = Array.from({ length: 40 }, (_, i) => ({ path: `p${i}`, pax: { [`comment${i}`]: "c".repeat(60_000) } }));
    // Forty pax headers with no member after any of them (each member header and the end marker cut off): the records pile up.
    const pile = Buffer.concat(records.map((r) => {
      const one = tarOf([r]);
      return one.subarray(0, one.length - 1024 - 512);
    }));
    await expect(parse(Buffer.concat([pile, Buffer.alloc(1024)]))).rejects.toThrow(/pax records for one member/);
  });
});
