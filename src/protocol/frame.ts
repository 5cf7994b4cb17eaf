import { FrameKind, HEADER_SIZE, MAX_PAYLOAD, MAX_STREAM_ID, isFrameKind } from "./constants.js";
import { ProtocolViolation } from "./errors.js";
import { PyroError } from "../util/errors.js";

/** One decoded frame. `payload` is owned by the frame (never a view into a reused buffer). */
export interface Frame {
  kind: FrameKind;
  stream: number;
  payload: Buffer;
  /** For CONTROL frames from {@link FrameDecoder}: the parsed JSON object. */
  control?: ControlMessage;
}

/** A decoded CONTROL frame's JSON object. */
export type ControlMessage = Record<string, unknown>;

/**
 * What a payload over the frame limit gets: a `limit_exceeded` that says how
 * big it was, never a RangeError (which would read as a pyro bug). Inputs are
 * bounded by their schemas well below this; reaching it means a request
 * carried something the schemas do not bound.
 */
function tooLarge(what: string, bytes: number): PyroError {
  return new PyroError("limit_exceeded", `${what} of ${bytes} bytes is larger than the guest protocol's frame limit of ${MAX_PAYLOAD} bytes (1 MiB)`, {
    hint: "send less in one request: large data goes through files (seed_path, workspace_sync_push), not through arguments",
    details: { bytes, limit: MAX_PAYLOAD },
  });
}

/**
 * Encode one frame. Throws a `limit_exceeded` PyroError for a payload above
 * 1 MiB, and a RangeError for a bad kind or a stream id outside 0 … 2^32-1
 * (those are bugs in the caller).
 */
export function encodeFrame(kind: FrameKind, stream: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  if (!isFrameKind(kind)) throw new RangeError(`unknown frame kind ${String(kind)}`);
  if (!Number.isInteger(stream) || stream < 0 || stream > MAX_STREAM_ID) throw new RangeError(`bad stream id ${stream}`);
  if (payload.length > MAX_PAYLOAD) throw tooLarge("a frame payload", payload.length);
  const frame = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt8(kind, 4);
  frame.writeUInt32BE(stream, 5);
  frame.set(payload, HEADER_SIZE);
  return frame;
}

/** Encode a CONTROL frame carrying `message` as JSON. */
export function encodeControl(stream: number, message: ControlMessage): Buffer {
  const payload = Buffer.from(JSON.stringify(message), "utf8");
  if (payload.length > MAX_PAYLOAD) throw tooLarge(`a request to the guest (${typeof message.op === "string" ? message.op : "control message"})`, payload.length);
  return encodeFrame(FrameKind.CONTROL, stream, payload);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parse a CONTROL payload: one UTF-8 JSON object and nothing else. Throws a
 * {@link ProtocolViolation} (`bad_control`) otherwise.
 */
export function parseControl(payload: Uint8Array): ControlMessage {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(payload));
  } catch {
    throw new ProtocolViolation("bad_control", "a control frame is not valid UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolViolation("bad_control", "a control frame is not a JSON object");
  }
  return value as ControlMessage;
}
