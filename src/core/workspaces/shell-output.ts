import { REDACTED, findSecrets, trailingSecretPrefix } from "./redaction.js";

/**
 * A stretch of a shell's output as the agent returned it: `data` holds the
 * bytes [`start`, `start + data.length`) of everything the shell printed since
 * it opened.
 */
export interface OutputWindow {
  start: number;
  data: Buffer;
  /** Whether the shell may still print more (then a cut-off tail is held back). */
  alive: boolean;
}

/** What one read hands to the caller. */
export interface ShellSlice {
  output: string;
  /** Where the returned output starts (byte offset). */
  cursor: number;
  /** Where the next read should start (byte offset). */
  nextCursor: number;
  /** Bytes between the requested cursor and the oldest byte the guest still keeps. */
  dropped: number;
}

/**
 * How many bytes before `cursor` a read must also fetch, so that a secret
 * that began before the cursor is still recognised: one less than the
 * longest pattern.
 */
export function lookback(patterns: Buffer[]): number {
  return Math.max(0, (patterns[0]?.length ?? 0) - 1);
}

/** Byte length of the UTF-8 character whose lead byte is `lead` (1 for a byte that cannot lead). */
function charLength(lead: number): number {
  if (lead >= 0xf0 && lead < 0xf8) return 4;
  if (lead >= 0xe0 && lead < 0xf0) return 3;
  if (lead >= 0xc0 && lead < 0xe0) return 2;
  return 1;
}

/**
 * How many bytes of `data[from, stop)` make at most `budget` UTF-16 units,
 * ending on a character boundary. A character cut off by `stop` is left for
 * later when `holdPartial` is set, else counted as one invalid byte. With
 * `takeFirst`, the first character is taken even when it exceeds `budget`.
 */
function utf8Prefix(data: Buffer, from: number, stop: number, budget: number, holdPartial: boolean, takeFirst: boolean): { bytes: number; units: number } {
  let i = from;
  let units = 0;
  while (i < stop) {
    let length = charLength(data[i]!);
    if (i + length > stop) {
      if (holdPartial) break;
      length = 1;
    }
    for (let k = 1; k < length; k++) {
      if ((data[i + k]! & 0xc0) !== 0x80) {
        length = 1;
        break;
      }
    }
    const cost = length === 4 ? 2 : 1;
    if (units + cost > budget && (units > 0 || !takeFirst)) break;
    units += cost;
    i += length;
    if (units >= budget) break;
  }
  return { bytes: i - from, units };
}

/**
 * Cut the reader's slice out of `window`: from `cursor`, at most `maxChars`
 * characters of output, every secret replaced by `[REDACTED]`.
 *
 * Cursors count bytes (the guest's unit). The slice never ends inside a
 * secret or a UTF-8 character while the shell lives: a tail that could be the
 * start of a secret is held back until the shell prints past it, so a secret
 * split across two reads is still redacted. Because every output byte yields
 * at most one UTF-16 unit per byte, `output.length <= maxChars`, with one
 * exception so that every read advances: the first character or `[REDACTED]`
 * marker of a slice is returned whole even when it alone exceeds `maxChars`.
 */
export function sliceShellOutput(window: OutputWindow, cursor: number, maxChars: number, patterns: Buffer[]): ShellSlice {
  const end = window.start + window.data.length;
  const from = Math.min(Math.max(cursor, window.start), end);
  const dropped = Math.max(0, window.start - cursor);
  const matches = findSecrets(window.data, patterns).map((m) => ({ start: m.start + window.start, end: m.end + window.start }));
  // Output the guest may still complete: a secret's opening bytes at the very end.
  const unmatchedTailStart = matches.length > 0 ? matches[matches.length - 1]!.end : window.start;
  const heldBack = window.alive ? trailingSecretPrefix(window.data.subarray(unmatchedTailStart - window.start), patterns) : 0;
  const limit = end - heldBack;

  let output = "";
  let position = from;
  let matchIndex = matches.findIndex((m) => m.end > from);
  if (matchIndex < 0) matchIndex = matches.length;
  while (position < limit && output.length < maxChars) {
    const match = matches[matchIndex];
    if (match && match.start <= position) {
      if (output.length > 0 && output.length + REDACTED.length > maxChars) break;
      output += REDACTED;
      position = match.end;
      matchIndex++;
      continue;
    }
    const stop = match ? Math.min(match.start, limit) : limit;
    const budget = maxChars - output.length;
    const prefix = utf8Prefix(window.data, position - window.start, stop - window.start, budget, stop === end && window.alive, output.length === 0);
    let taken = prefix.bytes;
    if (taken === 0) break; // only part of one character is here yet, or no room left
    let text = window.data.toString("utf8", position - window.start, position - window.start + taken);
    // Malformed input can decode to more units than the walk counted.
    while (text.length > Math.max(budget, prefix.units) && taken > 1) {
      taken--;
      text = window.data.toString("utf8", position - window.start, position - window.start + taken);
    }
    output += text;
    position += taken;
  }
  return { output, cursor: from, nextCursor: position, dropped };
}
