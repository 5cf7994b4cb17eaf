import { appendFile, readFile } from "node:fs/promises";

/** One executed command, as `workspace logs` shows it (secrets already redacted). */
export interface HistoryEntry {
  sequence: number;
  command: string;
  exit_code: number;
  started_at: string;
  duration_ms: number;
  stdout: string;
  stderr: string;
  /** A background command's id: its entry is written once a call saw it finish. */
  command_id?: string;
}

/** How much of each stream a history entry keeps (the exec result itself carries more). */
export const HISTORY_OUTPUT_CHARS = 16 * 1024;

/** Append one entry (caller holds the workspace lock, so sequences never collide). */
export async function appendHistory(path: string, entry: HistoryEntry): Promise<void> {
  await appendFile(path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
}

/** Every entry, oldest first; a torn last line (crash mid-append) is skipped. */
export async function readHistory(path: string): Promise<HistoryEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const entries: HistoryEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      entries.push(JSON.parse(line) as HistoryEntry);
    } catch {
      // Only the last line can be torn; everything before it is intact.
    }
  }
  return entries;
}

/** Keep the head of a long output for the history. */
export function clip(text: string): string {
  return text.length > HISTORY_OUTPUT_CHARS ? `${text.slice(0, HISTORY_OUTPUT_CHARS)}\n[… truncated in history]` : text;
}
