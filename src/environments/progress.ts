/** Receives one progress line (no trailing newline); the CLI writes it to stderr. */
export type ProgressFn = (line: string) => void;

/** Phases of a pull, in order; `build` is mmdebstrap or layer extraction. */
export type PullPhase = "resolve" | "download" | "build" | "image" | "install" | "ready";

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[\w.:/@+-]*$/.test(text) && text.length > 0 ? text : JSON.stringify(text);
}

/**
 * `[pull] phase=<phase> environment=<name> key=value…` — the stable stderr
 * format; values with spaces are JSON-quoted.
 */
export function pullLine(phase: PullPhase, environment: string, fields: Record<string, string | number | boolean | undefined> = {}): string {
  const parts = [`[pull] phase=${phase}`, `environment=${environment}`];
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) parts.push(`${key}=${formatValue(value)}`);
  }
  return parts.join(" ");
}

/** Wrap a per-byte progress source so it reports at most once per `stepPercent` percent. */
export function percentReporter(report: (percent: number, done: number, total: number) => void, stepPercent = 5): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    if (total <= 0) return;
    const percent = Math.floor((done / total) * 100);
    if (percent >= last + stepPercent || (percent === 100 && last !== 100)) {
      last = percent;
      report(percent, done, total);
    }
  };
}
