import { FrameKind, HEADER_SIZE, MAX_PAYLOAD, isFrameKind } from "./constants.js";
import { ProtocolViolation } from "./errors.js";
import { parseControl, type Frame } from "./frame.js";

/**
 * Streaming frame decoder. Feed it chunks as they arrive with {@link push};
 * it calls `onFrame` for every complete frame, in order. It holds at most one
 * frame (a 9-byte header plus a payload of at most 1 MiB), however large the
 * chunks, and validates every frame before allocating its payload.
 *
 * After it throws a {@link ProtocolViolation} the decoder is unusable.
 */
export class FrameDecoder {
  private readonly onFrame: (frame: Frame) => void;
  private readonly header = Buffer.alloc(HEADER_SIZE);
  private headerFill = 0;
  private payload: Buffer | null = null;
  private payloadFill = 0;
  private kind: FrameKind = FrameKind.CONTROL;
  private stream = 0;
  private failed: ProtocolViolation | null = null;

  /** `onFrame` may throw; the error propagates out of {@link push}. */
  constructor(onFrame: (frame: Frame) => void) {
    this.onFrame = onFrame;
  }

  /** Whether the decoder is between frames (nothing partial held). */
  get idle(): boolean {
    return this.headerFill === 0 && this.payload === null;
  }

  /** Consume one chunk of the byte stream. */
  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    let offset = 0;
    for (;;) {
      if (this.payload === null) {
        if (offset >= chunk.length) return;
        const take = Math.min(HEADER_SIZE - this.headerFill, chunk.length - offset);
        this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < HEADER_SIZE) return;
        this.payload = this.startPayload();
      }
      if (this.payloadFill < this.payload.length) {
        if (offset >= chunk.length) return;
        const take = Math.min(this.payload.length - this.payloadFill, chunk.length - offset);
        this.payload.set(chunk.subarray(offset, offset + take), this.payloadFill);
        this.payloadFill += take;
        offset += take;
        if (this.payloadFill < this.payload.length) return;
      }
      this.finishFrame(this.payload);
    }
  }

  /**
   * Declare the end of the byte stream. Throws `truncated` when it ended
   * inside a frame.
   */
  end(): void {
    if (this.failed) throw this.failed;
    if (!this.idle) this.fail(new ProtocolViolation("truncated", "the stream ended inside a frame"));
  }

  private startPayload(): Buffer {
    const length = this.header.readUInt32BE(0);
    const kind = this.header.readUInt8(4);
    if (length > MAX_PAYLOAD) this.fail(new ProtocolViolation("frame_too_large", `a frame announces ${length} bytes (limit ${MAX_PAYLOAD})`));
    if (!isFrameKind(kind)) this.fail(new ProtocolViolation("unknown_kind", `a frame has unknown kind ${kind}`));
    this.kind = kind as FrameKind;
    this.stream = this.header.readUInt32BE(5);
    this.payloadFill = 0;
    return Buffer.allocUnsafe(length);
  }

  private finishFrame(payload: Buffer): void {
    const frame: Frame = { kind: this.kind, stream: this.stream, payload };
    this.payload = null;
    this.headerFill = 0;
    if (frame.kind === FrameKind.CONTROL) {
      try {
        frame.control = parseControl(payload);
      } catch (error) {
        this.fail(error as ProtocolViolation);
      }
    }
    this.onFrame(frame);
  }

  private fail(error: ProtocolViolation): never {
    this.failed = error;
    throw error;
  }
}
