/**
 * The text content of a tool result. structuredContent carries the whole
 * result; the text repeats it for clients that show a model only text, so it
 * stays short and bounded: a flooded exec must not double a multi-megabyte
 * result (issue 22 measured 5.4 MB).
 */

/** Top-level string fields that are a command's or a file's output: shown raw, after the summary. */
const OUTPUT_FIELDS = ["stdout", "stderr", "output", "content"] as const;
/** Most characters of one output field in the text. */
export const TEXT_OUTPUT_CHARS = 16 * 1024;
/** Most characters of one string inside the JSON summary (a diff, a logged command's output). */
const TEXT_STRING_CHARS = 4 * 1024;
/** Most characters of the JSON summary as a whole. */
const TEXT_SUMMARY_CHARS = 32 * 1024;

/** Index `at` moved off the middle of a surrogate pair. */
function safeCut(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code >= 0xdc00 && code <= 0xdfff ? at - 1 : at;
}

/**
 * `text` cut to about `max` characters: its first quarter and its last three
 * quarters (a command's end, where errors are, matters most), with a marker
 * saying how much was left out and where the whole is.
 */
export function clip(text: string, max: number, where: string): string {
  if (text.length <= max) return text;
  const head = safeCut(text, Math.floor(max / 4));
  const tail = safeCut(text, text.length - (max - head));
  const omitted = tail - head;
  return `${text.slice(0, head)}\n[… ${omitted} characters omitted here; the full text is in ${where} …]\n${text.slice(tail)}`;
}

function clipStrings(value: unknown, path: string): unknown {
  if (typeof value === "string") return clip(value, TEXT_STRING_CHARS, path);
  if (Array.isArray(value)) return value.map((item, index) => clipStrings(item, `${path}[${index}]`));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, clipStrings(item, `${path}.${key}`)]));
  }
  return value;
}

/**
 * A summary of `result` (its JSON without the output fields, long strings
 * clipped) followed by each output field, raw and clipped. At most about
 * 32 KiB + 4 × 16 KiB, whatever the result holds.
 */
export function toolText(result: Record<string, unknown>): string {
  const rest: Record<string, unknown> = {};
  const outputs: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(result)) {
    if ((OUTPUT_FIELDS as readonly string[]).includes(key) && typeof value === "string") outputs.push([key, value]);
    else rest[key] = value;
  }
  const summary = JSON.stringify(clipStrings(rest, "structuredContent"), null, 2);
  const parts = [summary.length <= TEXT_SUMMARY_CHARS ? summary : clip(summary, TEXT_SUMMARY_CHARS, "structuredContent")];
  for (const [key, value] of outputs) {
    parts.push(value.length === 0 ? `${key}: (empty)` : `${key}:\n${clip(value, TEXT_OUTPUT_CHARS, `structuredContent.${key}`)}`);
  }
  return parts.join("\n\n");
}
