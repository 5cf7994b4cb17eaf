import type { z } from "zod";
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
    if (pattern.length < 2) continue;
    // Only positions holding the pattern's first byte can start a prefix: jump between
    // them (streamed output calls this per chunk, with secrets up to a few KiB).
    let start = data.indexOf(pattern[0]!, Math.max(0, data.length - (pattern.length - 1)));
    while (start >= 0 && data.length - start > longest) {
      const length = data.length - start;
      if (data.subarray(start).equals(pattern.subarray(0, length))) {
        longest = length;
        break;
      }
      start = data.indexOf(pattern[0]!, start + 1);
    }
  }
  return longest;
}

/** Redact every string inside a JSON-like value (error details, results): values and keys, at any depth. */
export function redactDeep<T>(value: T, values: SecretValues): T {
  if (typeof value === "string") return redact(value, values) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, values)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [redact(key, values), redactDeep(item, values)])) as T;
  }
  return value;
}

/** The part of a zod schema's definition the result walk reads. */
interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
}

function walk(schema: z.ZodType | undefined, value: unknown, values: SecretValues, keep: ReadonlySet<string>): unknown {
  if (typeof value === "string" && keep.has(value)) return value;
  if (schema === undefined) return redactDeep(value, values);
  const def = (schema as unknown as { def: SchemaDef }).def;
  switch (def.type) {
    case "enum":
    case "literal":
      // pyro's own words ("file", "running"), never guest text: redacting a
      // short secret out of one would only break the contract.
      return schema.safeParse(value).success ? value : redactDeep(value, values);
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
      return walk(def.innerType, value, values, keep);
    case "pipe":
      return walk(def.in, value, values, keep);
    case "array":
      return Array.isArray(value) ? value.map((item: unknown) => walk(def.element, item, values, keep)) : redactDeep(value, values);
    case "object":
      if (value === null || typeof value !== "object" || Array.isArray(value)) return redactDeep(value, values);
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) =>
          def.shape && Object.hasOwn(def.shape, key) ? [key, walk(def.shape[key], item, values, keep)] : [redact(key, values), redactDeep(item, values)],
        ),
      );
    case "record":
      if (value === null || typeof value !== "object" || Array.isArray(value)) return redactDeep(value, values);
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [redact(key, values), walk(def.valueType, item, values, keep)]));
    case "union":
      return walk(
        def.options?.find((option) => option.safeParse(value).success),
        value,
        values,
        keep,
      );
    default:
      return redactDeep(value, values);
  }
}

/**
 * Redact every string a result carries — field values, array items, record
 * keys, at any depth — of a workspace's secret values. Spared: what the result
 * schema fixes itself (enum and literal values) and the exact strings in
 * `keep` (pyro's own identifiers, such as the workspace id): a guest can put a
 * secret in any other string (a file named after it, a service's output).
 */
export function redactResult<T>(schema: z.ZodType, result: T, values: SecretValues, keep: ReadonlySet<string> = new Set()): T {
  if (Object.values(values).every((value) => value.length === 0)) return result;
  return walk(schema, result, values, keep) as T;
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
