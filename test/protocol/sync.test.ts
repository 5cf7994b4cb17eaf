import { describe, expect, it } from "vitest";
import { FRAME_KIND_NAMES, FrameDecoder, SyncScanner, type Frame } from "../../src/protocol/index.js";
import { chunks, loadVectors, vectorPayload, type SyncVector } from "./vectors.js";

const cases = loadVectors<SyncVector>("sync.json");

/** Scan for the marker, then decode every frame after it. */
function scanThenDecode(bytes: Buffer, chunkSize: number): { skipped: number; frames: Frame[] } {
  const scanner = new SyncScanner();
  const frames: Frame[] = [];
  const decoder = new FrameDecoder((f) => frames.push(f));
  let synced = false;
  for (const chunk of chunks(bytes, chunkSize)) {
    if (synced) {
      decoder.push(chunk);
      continue;
    }
    const at = scanner.push(chunk);
    if (at >= 0) {
      synced = true;
      decoder.push(chunk.subarray(at));
    }
  }
  expect(synced).toBe(true);
  decoder.end();
  return { skipped: scanner.skipped, frames };
}

describe("sync vectors", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    for (const size of [1, 2, 5, 8, 13, 1 << 20]) {
      const { skipped, frames } = scanThenDecode(Buffer.from(c.hex, "hex"), size);
      expect(skipped, `chunks of ${size}`).toBe(c.skipped);
      expect(frames).toHaveLength(c.frames.length);
      c.frames.forEach((want, i) => {
        const got = frames[i]!;
        expect(FRAME_KIND_NAMES[got.kind]).toBe(want.kind);
        expect(got.stream).toBe(want.stream);
        if (want.json !== undefined) expect(got.control).toEqual(want.json);
        else expect(got.payload.equals(vectorPayload(want))).toBe(true);
      });
    }
  });
});

describe("SyncScanner", () => {
  it("finds nothing in garbage and keeps no bytes", () => {
    const scanner = new SyncScanner();
    for (let i = 0; i < 1000; i++) expect(scanner.push(Buffer.from("PYROSYN garbage PYRO"))).toBe(-1);
    expect(scanner.skipped).toBe(1000 * 20 - 4);
  });

  it("finds a marker split across chunks", () => {
    const scanner = new SyncScanner();
    expect(scanner.push(Buffer.from("xxPYRO"))).toBe(-1);
    expect(scanner.push(Buffer.from("SYNCrest"))).toBe(4);
    expect(scanner.skipped).toBe(2);
    expect(() => scanner.push(Buffer.from("PYROSYNC"))).toThrow();
  });
});
