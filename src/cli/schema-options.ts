import type { z } from "zod";

/** The scalar kinds a derived CLI flag can carry. */
export type FlagKind = "boolean" | "integer" | "string" | "string[]";

/** A CLI flag derived from one field of an operation's input schema. */
export interface DerivedFlag {
  field: string;
  kind: FlagKind;
  description: string;
  defaultValue: unknown;
  choices?: string[];
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  defaultValue?: unknown;
  element?: z.ZodType;
  entries?: Record<string, string>;
}

function def(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/**
 * Describe a field as a flag: unwraps optional/default and transforms, maps
 * booleans, integers, strings, enums and string arrays, and a union by its
 * first such branch. Objects return undefined: their bindings spell those
 * flags out by hand.
 */
export function deriveFlag(field: string, schema: z.ZodType): DerivedFlag | undefined {
  let current = schema;
  let defaultValue: unknown;
  for (;;) {
    const d = def(current);
    if (d.type === "default") {
      defaultValue = typeof d.defaultValue === "function" ? (d.defaultValue as () => unknown)() : d.defaultValue;
      current = d.innerType!;
    } else if (d.type === "optional" || d.type === "nullable") {
      current = d.innerType!;
    } else if (d.type === "pipe") {
      // A transform after a schema (secret_env's list-or-object): the flag takes what the schema takes.
      current = d.in!;
    } else break;
  }
  const d = def(current);
  const description = schema.description ?? current.description ?? field;
  switch (d.type) {
    case "boolean":
      return { field, kind: "boolean", description, defaultValue };
    case "number":
      return { field, kind: "integer", description, defaultValue };
    case "string":
      return { field, kind: "string", description, defaultValue };
    case "enum":
      return { field, kind: "string", description, defaultValue, choices: Object.values(d.entries ?? {}) };
    case "array":
      return def(d.element!).type === "string" ? { field, kind: "string[]", description, defaultValue } : undefined;
    case "union": {
      // The first shape a flag can carry (secret_env: the list, not the object).
      for (const option of d.options ?? []) {
        const flag = deriveFlag(field, option);
        if (flag) return { ...flag, description, defaultValue };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** `timeout_seconds` → `timeout-seconds`. */
export function kebab(field: string): string {
  return field.replace(/_/g, "-");
}
