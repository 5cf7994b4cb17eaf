import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeFrame,
  FrameDecoder,
  FrameKind,
  HEADER_SIZE,
  MAX_PAYLOAD,
  parseControl,
  ProtocolViolation,
  SYNC_MARKER,
  SyncScanner,
  type Frame,
} from "../../src/protocol/index.js";
import { loadVectors, type FrameVector, type InvalidVector, type SyncVector } from "./vectors.js";

// Property tests of the host's codec (the guest is hostile: DESIGN.md). The
// same bytes are fuzzed on the agent's side by `go test -fuzz` (scripts/fuzz.sh).

const RUNS = 300;
const KINDS = [FrameKind.CONTROL, FrameKind.STDIN, FrameKind.STDOUT, FrameKind.STDERR];
const REASONS = ["frame_too_large", "unknown_kind", "bad_control", "truncated"];

/** Every golden vector's bytes: the seeds the mutations start from. */
const SEEDS: Buffer[] = [
  ...loadVectors<FrameVector>("frames.json"),
  ...loadVectors<InvalidVector>("invalid.json"),
  ...loadVectors<SyncVector>("sync.json"),
].map((v) => Buffer.from(v.hex, "hex"));

/** What decoding a byte stream yields: the frames, then the end or the one protocol error. */
interface Outcome {
  frames: Array<{ kind: number; stream: number; payload: string }>;
  error: string | null;
}

/** Decode `bytes` fed in the given chunk sizes (cycled); any non-ProtocolViolation throw fails the test. */
function decode(bytes: Uint8Array, sizes: number[]): Outcome {
  const frames: Outcome["frames"] = [];
  const decoder = new FrameDecoder((f: Frame) => {
    expect(f.payload.length).toBeLessThanOrEqual(MAX_PAYLOAD);
    frames.push({ kind: f.kind, stream: f.stream, payload: f.payload.toString("hex") });
  });
  try {
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const size = Math.max(1, sizes.length ? (sizes[i % sizes.length] as number) : bytes.length);
      decoder.push(bytes.subarray(at, at + size));
      at += size;
    }
    decoder.end();
    return { frames, error: null };
  } catch (error) {
    if (!(error instanceof ProtocolViolation)) throw error;
    expect(REASONS).toContain(error.reason);
    expect(error.code).toBe("guest_failure");
    return { frames, error: error.reason };
  }
}

const frameArb = fc.oneof(
  fc.record({
    kind: fc.constant<number>(FrameKind.CONTROL),
    stream: fc.nat({ max: 0xffff_ffff }),
    payload: fc.object({ maxDepth: 3 }).map((o) => Buffer.from(JSON.stringify(o), "utf8")),
  }),
  fc.record({
    kind: fc.constantFrom<number>(FrameKind.STDIN, FrameKind.STDOUT, FrameKind.STDERR),
    stream: fc.nat({ max: 0xffff_ffff }),
    payload: fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a)),
  }),
);

/** Arbitrary bytes: pure noise, or a golden vector with a few bytes overwritten, cut or extended. */
const hostileBytes = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc
    .tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), fc.uint8Array({ maxLength: 64 }))
    .map(([seed, edits, cut, tail]) => {
      const out = Buffer.from(seed);
      for (const [at, byte] of edits) if (out.length > 0) out[at % out.length] = byte;
      return Buffer.concat([out.subarray(0, out.length === 0 ? 0 : cut % (out.length + 1)), Buffer.from(tail)]);
    }),
);

const chunkSizes = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 });

describe("frame codec properties", () => {
  it("any sequence of valid frames round-trips, however the stream is chunked", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), chunkSizes, (frames, sizes) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f.kind as FrameKind, f.stream, f.payload)));
        const outcome = decode(bytes, sizes);
        expect(outcome.error).toBeNull();
        expect(outcome.frames).toEqual(frames.map((f) => ({ kind: f.kind, stream: f.stream, payload: f.payload.toString("hex") })));
      }),
      { numRuns: RUNS },
    );
  });

  it("hostile bytes: frames then at most one protocol error (never another exception), the same whatever the chunking, and the frames re-encode to a prefix of the input", () => {
    fc.assert(
      fc.property(hostileBytes, chunkSizes, (bytes, sizes) => {
        const whole = decode(bytes, []);
        const chunked = decode(bytes, sizes);
        expect(chunked).toEqual(whole);
        const reencoded = Buffer.concat(whole.frames.map((f) => encodeFrame(f.kind as FrameKind, f.stream, Buffer.from(f.payload, "hex"))));
        expect(Buffer.from(bytes).subarray(0, reencoded.length).equals(reencoded)).toBe(true);
        if (whole.error === null) expect(reencoded.length).toBe(bytes.length);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("a header announcing more than 1 MiB is refused at the header, before any payload is buffered", () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_PAYLOAD + 1, max: 0xffff_ffff }), fc.constantFrom(...KINDS), fc.nat({ max: 0xffff_ffff }), (length, kind, stream) => {
        const header = Buffer.alloc(HEADER_SIZE);
        header.writeUInt32BE(length, 0);
        header.writeUInt8(kind, 4);
        header.writeUInt32BE(stream, 5);
        const decoder = new FrameDecoder(() => expect.unreachable("no frame"));
        let reason: string | undefined;
        try {
          decoder.push(header);
        } catch (error) {
          reason = (error as ProtocolViolation).reason;
        }
        expect(reason).toBe("frame_too_large");
        // Once broken, the decoder stays broken: a new connection never inherits half a frame.
        expect(() => decoder.push(Buffer.from([1]))).toThrow(ProtocolViolation);
      }),
      { numRuns: RUNS },
    );
  });

  it("parseControl: any bytes give a JSON object or a bad_control violation, nothing else", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.json().map((j) => Buffer.from(j, "utf8"))), (bytes) => {
        try {
          const value = parseControl(bytes);
          expect(typeof value === "object" && value !== null && !Array.isArray(value)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolViolation);
          expect((error as ProtocolViolation).reason).toBe("bad_control");
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("the sync scanner finds the first marker where indexOf does, however the stream is chunked", () => {
    const marker = Buffer.from(SYNC_MARKER);
    const noisy = fc
      .array(fc.oneof(fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)), fc.constant(marker), fc.constant(marker.subarray(0, 4)), fc.constant(Buffer.from("PYRO"))), { maxLength: 10 })
      .map((parts) => Buffer.concat(parts));
    fc.assert(
      fc.property(noisy, chunkSizes, (bytes, sizes) => {
        const scanner = new SyncScanner();
        let at = 0;
        let found = -1;
        for (let i = 0; at < bytes.length && found < 0; i++) {
          const size = Math.max(1, sizes.length ? (sizes[i % sizes.length] as number) : bytes.length);
          const hit = scanner.push(bytes.subarray(at, at + size));
          if (hit >= 0) found = at + hit;
          at += size;
        }
        const expected = bytes.indexOf(marker);
        expect(found).toBe(expected < 0 ? -1 : expected + marker.length);
        if (expected >= 0) expect(scanner.skipped).toBe(expected);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
