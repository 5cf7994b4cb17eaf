import { describe, expect, it } from "vitest";
import {
  FRAME_KIND_NAMES,
  FrameDecoder,
  FrameKind,
  HEADER_SIZE,
  MAX_PAYLOAD,
  ProtocolViolation,
  encodeControl,
  encodeFrame,
  type Frame,
} from "../../src/protocol/index.js";
import { chunks, loadVectors, vectorPayload, type FrameVector, type InvalidVector } from "./vectors.js";
import { PyroError } from "../../src/util/errors.js";

const frames = loadVectors<FrameVector>("frames.json");
const invalid = loadVectors<InvalidVector>("invalid.json");
const kindOf = (name: FrameVector["kind"]): FrameKind =>
  Number(Object.entries(FRAME_KIND_NAMES).find(([, n]) => n === name)?.[0]) as FrameKind;

function decodeAll(bytes: Buffer, chunkSize: number): Frame[] {
  const out: Frame[] = [];
  const decoder = new FrameDecoder((f) => out.push(f));
  for (const chunk of chunks(bytes, chunkSize)) decoder.push(chunk);
  decoder.end();
  return out;
}

function expectFrame(v: FrameVector, f: Frame | undefined): void {
  expect(f, v.name).toBeDefined();
  expect(FRAME_KIND_NAMES[f!.kind], v.name).toBe(v.kind);
  expect(f!.stream, v.name).toBe(v.stream);
  expect(f!.payload.equals(vectorPayload(v)), v.name).toBe(true);
  if (v.json !== undefined) expect(f!.control, v.name).toEqual(v.json);
}

describe("golden frame vectors", () => {
  it("has enough cases", () => expect(frames.length).toBeGreaterThan(10));

  it.each(frames.map((v) => [v.name, v] as const))("encodes %s to the exact bytes", (_name, v) => {
    expect(encodeFrame(kindOf(v.kind), v.stream, vectorPayload(v)).toString("hex")).toBe(v.hex);
  });

  it.each(frames.map((v) => [v.name, v] as const))("decodes %s", (_name, v) => {
    const [f, ...rest] = decodeAll(Buffer.from(v.hex, "hex"), 1 << 16);
    expectFrame(v, f);
    expect(rest).toHaveLength(0);
  });

  it.each([1, 2, 7, 9, 10, 4096])("decodes all frames concatenated, in chunks of %i bytes", (size) => {
    const all = Buffer.concat(frames.map((v) => Buffer.from(v.hex, "hex")));
    const out = decodeAll(all, size);
    expect(out).toHaveLength(frames.length);
    frames.forEach((v, i) => expectFrame(v, out[i]));
  });
});

describe("invalid vectors", () => {
  it.each(invalid.map((v) => [v.name, v] as const))("rejects %s", (_name, v) => {
    for (const size of [1, 3, 1 << 20]) {
      let error: unknown;
      try {
        decodeAll(Buffer.from(v.hex, "hex"), size);
      } catch (e) {
        error = e;
      }
      expect(error, `${v.name} in chunks of ${size}`).toBeInstanceOf(ProtocolViolation);
      expect((error as ProtocolViolation).reason).toBe(v.error);
      expect((error as ProtocolViolation).code).toBe("guest_failure");
    }
  });

  it("rejects an oversized frame from its header alone, before any payload arrives", () => {
    const header = Buffer.alloc(HEADER_SIZE);
    header.writeUInt32BE(MAX_PAYLOAD + 1, 0);
    header.writeUInt8(FrameKind.STDOUT, 4);
    const decoder = new FrameDecoder(() => undefined);
    expect(() => decoder.push(header)).toThrow(ProtocolViolation);
    // A failed decoder stays failed.
    expect(() => decoder.push(Buffer.from("x"))).toThrow(ProtocolViolation);
  });
});

describe("encodeFrame", () => {
  it("accepts exactly 1 MiB and refuses one byte more with limit_exceeded, not a RangeError (issue 22)", () => {
    expect(encodeFrame(FrameKind.STDOUT, 1, Buffer.alloc(MAX_PAYLOAD)).length).toBe(HEADER_SIZE + MAX_PAYLOAD);
    const error = caught(() => encodeFrame(FrameKind.STDOUT, 1, Buffer.alloc(MAX_PAYLOAD + 1)));
    expect(error).toBeInstanceOf(PyroError);
    expect(error).toMatchObject({ code: "limit_exceeded", message: expect.stringContaining(`${MAX_PAYLOAD + 1} bytes`) });
  });

  it("refuses a control message over the limit with limit_exceeded naming the request", () => {
    const error = caught(() => encodeControl(1, { op: "exec", argv: ["/bin/sh", "-c", "x".repeat(MAX_PAYLOAD)] }));
    expect(error).toBeInstanceOf(PyroError);
    expect(error).toMatchObject({ code: "limit_exceeded", message: expect.stringMatching(/request to the guest \(exec\).*1 MiB/) });
  });

  it("refuses bad kinds and stream ids", () => {
    expect(() => encodeFrame(9 as FrameKind, 1)).toThrow(RangeError);
    expect(() => encodeFrame(FrameKind.STDIN, -1)).toThrow(RangeError);
    expect(() => encodeFrame(FrameKind.STDIN, 2 ** 32)).toThrow(RangeError);
    expect(() => encodeFrame(FrameKind.STDIN, 1.5)).toThrow(RangeError);
  });

  it("round-trips a control message through the decoder", () => {
    const message = { op: "exec", argv: ["echo", "✓ 🚀"], env: { A: "b" } };
    const out = decodeAll(encodeControl(42, message), 5);
    expect(out).toHaveLength(1);
    expect(out[0]!.control).toEqual(message);
    expect(out[0]!.stream).toBe(42);
  });
});

describe("FrameDecoder memory bound", () => {
  it("holds at most one frame while fed a long stream in large chunks", () => {
    const frame = encodeFrame(FrameKind.STDOUT, 3, Buffer.alloc(MAX_PAYLOAD, 0x62));
    let count = 0;
    const decoder = new FrameDecoder((f) => {
      count++;
      expect(f.payload.length).toBe(MAX_PAYLOAD);
    });
    // 64 frames = 64 MiB through the decoder, in chunks that straddle frames.
    const stream = Buffer.concat([frame, frame]);
    for (let i = 0; i < 32; i++) for (const chunk of chunks(stream, 300_007)) decoder.push(chunk);
    decoder.end();
    expect(count).toBe(64);
  });
});

/** What `run` throws (fails the test when it throws nothing). */
function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}
