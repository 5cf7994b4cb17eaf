import { z } from "zod";

/** Bounds of a workspace's name and labels (issue 14). */
export const NAME_LIMITS = {
  /** A workspace name, in characters. */
  name_chars: 64,
  /** A label key, in characters. */
  label_key_chars: 64,
  /** A label value, in characters. */
  label_value_chars: 256,
  /** Labels on one workspace. */
  labels: 64,
} as const;

// C0 controls, DEL and C1 controls: a name or label is printed on one line of `workspace list`.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A workspace's human name: any printable text, 1-64 characters; not unique, not an id. */
export const workspaceName = z
  .string()
  .trim()
  .min(1, "a workspace name must not be empty; use clear_name (--clear-name) to remove one")
  .max(NAME_LIMITS.name_chars, `a workspace name is at most ${NAME_LIMITS.name_chars} characters`)
  .refine((value) => !CONTROL.test(value), "a workspace name must not contain control characters (newlines, tabs, escapes)")
  .describe(`Human name of the workspace, 1-${NAME_LIMITS.name_chars} printable characters; shown by status and list (not unique, not an id)`);

/** A label key: letters, digits, `.`, `_`, `-`, `/`; never `=` (KEY=VALUE splits at the first `=`). */
export const labelKey = z
  .string()
  .refine((value) => !value.includes("="), 'a label key must not contain "=" (KEY=VALUE splits at the first "="); put the "=" in the value')
  .refine((value) => value.length >= 1 && value.length <= NAME_LIMITS.label_key_chars, `a label key is 1-${NAME_LIMITS.label_key_chars} characters`)
  .refine((value) => /^[A-Za-z0-9._/-]*$/.test(value), "a label key uses letters, digits, '.', '_', '-' and '/' only")
  .describe(`Label key: 1-${NAME_LIMITS.label_key_chars} letters, digits, '.', '_', '-' or '/'`);

/** A label value: printable text, at most 256 characters (may be empty, may contain `=`). */
export const labelValue = z
  .string()
  .max(NAME_LIMITS.label_value_chars, `a label value is at most ${NAME_LIMITS.label_value_chars} characters`)
  .refine((value) => !CONTROL.test(value), "a label value must not contain control characters (newlines, tabs, escapes)")
  .describe(`Label value: at most ${NAME_LIMITS.label_value_chars} printable characters`);

/** Labels as input: `{key: value}`, at most 64. */
export const labelsInput = z
  .record(z.string(), labelValue)
  // Keys are checked here rather than as the record's key schema: zod reports a bad record key only as "Invalid key in record".
  .superRefine((value, context) => {
    for (const key of Object.keys(value)) {
      for (const issue of labelKey.safeParse(key).error?.issues ?? []) context.addIssue({ code: "custom", message: issue.message, path: [key] });
    }
    if (Object.keys(value).length > NAME_LIMITS.labels) context.addIssue({ code: "custom", message: `a workspace carries at most ${NAME_LIMITS.labels} labels` });
  });

/** Labels as results report them (empty object: none). */
export const labelsResult = z.record(z.string(), z.string()).describe("The workspace's labels, {key: value}; {} when none");

/**
 * `KEY=VALUE` → `[KEY, VALUE]`, split at the first `=`, as the CLI's
 * `--label` takes it. A value may contain `=`; a key never can.
 */
export function splitLabel(text: string): [string, string] {
  const at = text.indexOf("=");
  if (at < 0) throw new Error(`--label must look like KEY=VALUE, got ${JSON.stringify(text)}`);
  return [text.slice(0, at), text.slice(at + 1)];
}
