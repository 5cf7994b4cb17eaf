import type { z } from "zod";
import { PyroError } from "../contract/index.js";

/** Parse input with an operation's schema; failures become one clear `invalid_argument`. */
export function parseInput<S extends z.ZodType>(operation: string, schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw new PyroError("invalid_argument", `invalid input for ${operation}: ${problems.join("; ")}`, {
    hint: "check the field names and bounds in the tool's schema or `pyro <command> --help`",
    details: { issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
  });
}
