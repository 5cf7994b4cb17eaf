import { findSecrets, trailingSecretPrefix } from "./redaction.js";
import { sliceShellOutput, type OutputWindow, type ShellSlice } from "./shell-output.js";

/** Byte length of the UTF-8 character whose lead byte is `lead` (1 for a byte that cannot lead). */
function charLength(lead: number): number {
  if (lead >= 0xf0 && lead < 0xf8) return 4;
  if (lead >= 0xe0 && lead < 0xf0) return 3;
  if (lead >= 0xc0 && lead < 0xe0) return 2;
  return 1;
}

/**
 * Cut a reader's slice out of a background command's output `window`: from
 * `cursor`, at most `maxBytes` bytes of output (cursors and the limit count
 * the guest's bytes), every secret replaced by `[REDACTED]`.
 *
 * The slice never ends inside a UTF-8 character or a secret, and while more
 * output may come (`window.alive`) a tail that could be the start of a secret
 * is held back, so a secret split across two reads is still redacted. So that
 * every read advances, a secret or a character that starts at the cursor is
 * taken whole even when it alone is longer than `maxBytes`.
 */
export function sliceCommandOutput(window: OutputWindow, cursor: number, maxBytes: number, patterns: Buffer[]): ShellSlice {
  const end = window.start + window.data.length;
  const from = Math.min(Math.max(cursor, window.start), end);
  const at = (offset: number) => window.data[offset - window.start]!;
  const matches = findSecrets(window.data, patterns).map((m) => ({ start: m.start + window.start, end: m.end + window.start }));
  const tailStart = matches.length > 0 ? matches[matches.length - 1]!.end : window.start;
  const heldBack = window.alive ? trailingSecretPrefix(window.data.subarray(tailStart - window.start), patterns) : 0;
  let limit = Math.max(from, Math.min(from + maxBytes, end - heldBack));
  // Never cut a secret: stop before it, or take it whole when it starts at the cursor.
  const cut = matches.find((m) => m.start < limit && m.end > limit);
  if (cut) limit = cut.start > from ? cut.start : cut.end;
  // Never cut a character: stop before it, or take it whole when it starts at the cursor.
  if (limit > from && (limit < end || window.alive)) {
    let lead = limit - 1;
    while (lead > from && lead > limit - 4 && (at(lead) & 0xc0) === 0x80) lead--;
    const length = charLength(at(lead));
    if (lead + length > limit) {
      if (lead > from) limit = lead;
      else if (lead + length <= end) limit = lead + length;
      else if (window.alive) limit = from; // the rest of it is not here yet
    }
  }
  const slice = sliceShellOutput({ start: window.start, data: window.data.subarray(0, limit - window.start), alive: false }, cursor, Number.MAX_SAFE_INTEGER, patterns);
  return { ...slice, nextCursor: limit };
}
