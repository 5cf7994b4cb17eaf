import { PyroError } from "../../util/errors.js";
import { redact, type SecretValues } from "./secrets.js";

/** What replaces a secret value in every output. */
export const REDACTED = "[REDACTED]";

/**
 * The byte patterns of a workspace's secrets, longest first. A value with a
 * newline also matches with `\r\n`, the form a PTY's line discipline prints.
 */
export function secretPatterns(values: SecretValues): Buffer[] {
  const patterns = new Map<string, Buffer>();
  for (const value of Object.values(values)) {
    if (value.length === 0) continue;
    for (const variant of [value, value.replace(/\r?\n/g, "\r\n")]) patterns.set(variant, Buffer.from(variant, "utf8"));
  }
  return [...patterns.values()].sort((a, b) => b.length - a.length);
}

/** A secret occurrence in a buffer: bytes [start, end). */
export interface Match {
  start: number;
  end: number;
}

/** Non-overlapping occurrences of `patterns` in `data`, left to right, the longest winning at each position. */
export function findSecrets(data: Buffer, patterns: Buffer[]): Match[] {
  const matches: Match[] = [];
  if (patterns.length === 0) return matches;
  let position = 0;
  while (position < data.length) {
    let best: Match | null = null;
    for (const pattern of patterns) {
      const at = data.indexOf(pattern, position);
      if (at >= 0 && (best === null || at < best.start || (at === best.start && at + pattern.length > best.end))) {
        best = { start: at, end: at + pattern.length };
      }
    }
    if (best === null) break;
    matches.push(best);
    position = best.end;
  }
  return matches;
}

/** Length of the longest proper prefix of any pattern that `data` ends with (0 when none). */
export function trailingSecretPrefix(data: Buffer, patterns: Buffer[]): number {
  let longest = 0;
  for (const pattern of patterns) {
    for (let length = Math.min(pattern.length - 1, data.length); length > longest; length--) {
      if (data.subarray(data.length - length).equals(pattern.subarray(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

/** Redact every string inside a JSON-like value (error details, results). */
export function redactDeep<T>(value: T, values: SecretValues): T {
  if (typeof value === "string") return redact(value, values) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, values)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, values)])) as T;
  }
  return value;
}

/**
 * Run `fn`; a PyroError it throws comes back with every secret value removed
 * from its message, hint and details (guest errors quote guest output). The
 * cause is dropped: it may carry the unredacted text.
 */
export async function withRedactedErrors<R>(values: SecretValues, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof PyroError) || Object.keys(values).length === 0) throw error;
    const hint = error.hint === undefined ? undefined : redact(error.hint, values);
    const details = error.details === undefined ? undefined : redactDeep(error.details, values);
    throw new PyroError(error.code, redact(error.message, values), { ...(hint === undefined ? {} : { hint }), ...(details === undefined ? {} : { details }) });
  }
}
