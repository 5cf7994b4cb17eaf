import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../../protocol/vectors/", import.meta.url));

/** One valid frame of frames.json (or one expected frame of sync.json, without hex). */
export interface FrameVector {
  name: string;
  kind: "control" | "stdin" | "stdout" | "stderr";
  stream: number;
  json?: Record<string, unknown>;
  json_text?: string;
  data_b64?: string;
  hex: string;
}

/** One case of invalid.json. */
export interface InvalidVector {
  name: string;
  hex: string;
  error: "frame_too_large" | "unknown_kind" | "bad_control" | "truncated";
}

/** One case of sync.json. */
export interface SyncVector {
  name: string;
  hex: string;
  skipped: number;
  frames: Omit<FrameVector, "name" | "hex" | "json_text">[];
}

/** Read one of protocol/vectors/*.json. */
export function loadVectors<T>(file: "frames.json" | "invalid.json" | "sync.json"): T[] {
  return JSON.parse(readFileSync(dir + file, "utf8")) as T[];
}

/** The payload bytes a vector describes. */
export function vectorPayload(v: { json_text?: string; data_b64?: string; json?: unknown }): Buffer {
  if (v.json_text !== undefined) return Buffer.from(v.json_text, "utf8");
  if (v.data_b64 !== undefined) return Buffer.from(v.data_b64, "base64");
  throw new Error("vector has neither json_text nor data_b64");
}

/** Split `bytes` into chunks of `size` (1 = byte by byte). */
export function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}
