import type { Output } from "./binding.js";

/** Print a result as `key: value` lines; nested values as compact JSON. */
export function printFields(result: object, out: Output): void {
  for (const [key, value] of Object.entries(result)) {
    const text = value !== null && typeof value === "object" ? JSON.stringify(value) : String(value);
    out.stdout(`${key}: ${text}\n`);
  }
}

/**
 * Print a command's captured output on the matching streams, truncation noted
 * on stderr. With `streamed` the output was printed as it arrived, whole
 * (the result keeps only its first MiB): only the timeout is noted.
 */
export function printCommandOutput(
  result: { stdout: string; stderr: string; stdout_truncated: boolean; stderr_truncated: boolean; timed_out: boolean },
  out: Output,
  streamed = false,
): void {
  if (!streamed) {
    if (result.stdout) out.stdout(result.stdout);
    if (result.stderr) out.stderr(result.stderr);
    if (result.stdout_truncated) out.stderr("[pyro] stdout was truncated at the output limit\n");
    if (result.stderr_truncated) out.stderr("[pyro] stderr was truncated at the output limit\n");
  }
  if (result.timed_out) out.stderr("[pyro] the command was killed at its timeout\n");
}

/** `1234567` → `1.2 MB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const yesNo = (value: boolean) => (value ? "yes" : "no");
export { yesNo };

/** `1 entry`, `3 entries`. */
export function countOf(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
