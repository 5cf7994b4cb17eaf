import { stripVTControlCharacters } from "node:util";

/**
 * Terminal output as plain text, for a model to read (`shell_read` with
 * `plain`). Terminal control is removed, not interpreted, except for what
 * changes which characters a line shows:
 *
 * - string sequences (OSC window titles and hyperlinks, DCS, APC, PM, SOS) up
 *   to their BEL or ST terminator; Node's `stripVTControlCharacters` (the
 *   ansi-regex pattern) misses those whose payload has spaces;
 * - CSI sequences (colours, cursor moves, erase, bracketed paste) and the
 *   other escapes, by `stripVTControlCharacters`;
 * - `\r\n` becomes `\n`; a lone `\r` returns to the line's start, so the
 *   text after it overwrites what it covers (a progress bar shows its last
 *   state); a backspace steps back one column, and what follows overwrites;
 * - every other C0/C1 control character (BEL, SO/SI, a stray ESC) goes;
 *   tabs and newlines stay.
 */
export function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex
  const withoutStrings = text.replace(/(?:\u001b[\]P_^X]|[\u0090\u009d\u009e\u009f\u0098])[\s\S]*?(?:\u0007|\u001b\\|\u009c)/g, "");
  const stripped = stripVTControlCharacters(withoutStrings).replace(/\r+\n/g, "\n");
  const lines = stripped.split("\n").map((line) => {
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u0007\u000b-\u001f\u007f-\u009f]/g;
    if (!line.includes("\r") && !line.includes("\b")) return line.replace(control, "");
    // A cursor over one line: \r returns to its start, a backspace steps back, text overwrites.
    const screen: string[] = [];
    let column = 0;
    for (const char of line) {
      if (char === "\r") column = 0;
      else if (char === "\b") column = Math.max(0, column - 1);
      else if (!control.test(char)) screen[column++] = char;
      control.lastIndex = 0;
    }
    return screen.join("");
  });
  return lines.join("\n");
}

/** Longest escape sequence held back at the end of a read, in bytes; longer ones are given up on. */
const MAX_HELD_SEQUENCE_BYTES = 4096;

/**
 * Where an escape sequence that `data` ends inside begins (a byte offset), or
 * -1 when it ends outside one. A plain read stops before such a sequence
 * while the shell may still finish it, so its bytes are never shown half
 * stripped; the next read starts at it.
 */
export function unfinishedEscapeAt(data: Buffer): number {
  const from = Math.max(0, data.length - MAX_HELD_SEQUENCE_BYTES);
  const window = data.subarray(from).toString("latin1");
  // A string sequence (OSC, DCS, …) not yet terminated by BEL or ESC \: its own ESCs do not end it.
  // eslint-disable-next-line no-control-regex
  const string = /\u001b[\]P_^X](?:(?!\u0007|\u001b\\)[\s\S])*$/.exec(window);
  if (string) return from + string.index;
  const at = window.lastIndexOf("\u001b");
  if (at < 0) return -1;
  const tail = window.slice(at);
  if (tail.length === 1) return from + at;
  const kind = tail[1]!;
  // eslint-disable-next-line no-control-regex
  if (kind === "[") return /^\u001b\[[0-?]*[ -/]*[@-~]/.test(tail) ? -1 : from + at;
  // ESC ( B and the like: an intermediate byte, then the final one.
  if (/^[ -/]$/.test(kind)) return tail.length >= 3 ? -1 : from + at;
  return -1;
}
