/** The protocol version this host speaks (protocol/SPEC.md). */
export const PROTOCOL_VERSION = 1;

/** Bytes in a frame header: 4 length, 1 kind, 4 stream id. */
export const HEADER_SIZE = 9;

/** The largest payload a frame may carry: 1 MiB. */
export const MAX_PAYLOAD = 1024 * 1024;

/** The largest stream id (unsigned 32-bit). */
export const MAX_STREAM_ID = 0xffff_ffff;

/** The 8 ASCII bytes that start every session, in both directions. */
export const SYNC_MARKER: Uint8Array = Uint8Array.from(Buffer.from("PYROSYNC", "ascii"));

/** Frame kinds. */
export const FrameKind = {
  CONTROL: 1,
  STDIN: 2,
  STDOUT: 3,
  STDERR: 4,
} as const;

/** One of {@link FrameKind}'s values. */
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Lower-case names of the kinds, as used by the golden vectors. */
export const FRAME_KIND_NAMES: Readonly<Record<FrameKind, "control" | "stdin" | "stdout" | "stderr">> = {
  1: "control",
  2: "stdin",
  3: "stdout",
  4: "stderr",
};

/** Whether `kind` is one of the four frame kinds. */
export function isFrameKind(kind: number): kind is FrameKind {
  return kind >= FrameKind.CONTROL && kind <= FrameKind.STDERR && Number.isInteger(kind);
}
