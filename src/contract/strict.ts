import { z } from "zod";

/** Edit distance between two field names (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The valid field a mistyped one most likely meant, or undefined when none is
 * close. A name contained in a valid one (`timeout` → `timeout_seconds`) wins
 * over edit distance, which alone would rate `timeout` nearer to `command`.
 */
export function closestField(unknown: string, valid: readonly string[]): string | undefined {
  const wanted = unknown.toLowerCase();
  const containing = valid.filter((name) => name.includes(wanted) || wanted.includes(name));
  if (containing.length > 0) return containing.sort((a, b) => Math.abs(a.length - wanted.length) - Math.abs(b.length - wanted.length))[0];
  let best: { name: string; cost: number } | undefined;
  for (const name of valid) {
    const cost = distance(wanted, name);
    if (cost <= Math.max(2, Math.floor(name.length / 3)) && (!best || cost < best.cost)) best = { name, cost };
  }
  return best?.name;
}

/** `unknown field "timeout" (did you mean "timeout_seconds"?)`, or the list of valid fields when none is close. */
export function unknownFieldsMessage(keys: readonly string[], valid: readonly string[]): string {
  const parts = keys.map((key) => {
    const near = closestField(key, valid);
    return near ? `unknown field ${JSON.stringify(key)} (did you mean ${JSON.stringify(near)}?)` : `unknown field ${JSON.stringify(key)}`;
  });
  const listed = keys.some((key) => !closestField(key, valid));
  return listed ? `${parts.join("; ")}; valid fields: ${valid.length > 0 ? valid.join(", ") : "none"}` : parts.join("; ");
}

/**
 * An object schema that refuses fields it does not know, naming each and the
 * closest valid one. Every input object uses it: a silently dropped field
 * (`timeout` for `timeout_seconds`) would quietly run with the default.
 */
export function strictObject<S extends z.ZodRawShape>(shape: S) {
  const valid = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? unknownFieldsMessage(issue.keys, valid) : undefined),
  });
}

/**
 * The message of a failed union of objects: what the union accepts, then the
 * problems of the branch that came closest (fewest issues), so a typo inside
 * one (`valu`) is named instead of a bare "Invalid input".
 */
export function unionMessage(accepts: string, branches: ReadonlyArray<ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>>): string {
  const closest = [...branches].sort((a, b) => a.length - b.length)[0] ?? [];
  const problems = closest.map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message));
  return problems.length > 0 ? `${accepts}: ${problems.join("; ")}` : accepts;
}
