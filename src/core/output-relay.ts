import { StringDecoder } from "node:string_decoder";
import { REDACTED, findSecrets, trailingSecretPrefix, type Match } from "./workspaces/redaction.js";

const REDACTED_BYTES = Buffer.from(REDACTED, "utf8");

/**
 * Turns one output stream of a command, as byte chunks in arrival order,
 * into UTF-8 text chunks with every secret pattern replaced by `[REDACTED]`.
 *
 * A chunk may end inside a secret or a UTF-8 character: the tail that could
 * still become a secret (at most two secret lengths) and an unfinished
 * character are held back until the next chunk or {@link end}, so no chunk
 * ever carries part of a secret and joining the chunks gives the redacted
 * stream.
 */
export class OutputRelay {
  private held: Buffer = Buffer.alloc(0);
  private readonly decoder = new StringDecoder("utf8");

  /**
   * @param patterns secret byte patterns, longest first (`secretPatterns`); empty for no redaction
   * @param emit receives each non-empty text chunk
   */
  constructor(
    private readonly patterns: Buffer[],
    private readonly emit: (text: string) => void,
  ) {}

  /** Add the next chunk of the stream. */
  push(chunk: Buffer): void {
    if (this.patterns.length === 0) {
      this.send(this.decoder.write(chunk));
      return;
    }
    const data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const matches = findSecrets(data, this.patterns);
    // Hold back a tail that may begin a secret (also a longer secret that a
    // shorter match at the end would cut short); a match across the cut is held whole.
    let cut = data.length - trailingSecretPrefix(data, this.patterns);
    for (const match of matches) if (match.start < cut && match.end > cut) cut = match.start;
    this.held = Buffer.from(data.subarray(cut));
    this.send(this.decoder.write(replaced(data.subarray(0, cut), matches.filter((m) => m.end <= cut))));
  }

  /** The stream ended: emit what was held back (redacted; an unfinished character becomes U+FFFD). */
  end(): void {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    const text = this.decoder.write(replaced(rest, findSecrets(rest, this.patterns))) + this.decoder.end();
    this.send(text);
  }

  private send(text: string): void {
    if (text.length === 0) return;
    try {
      this.emit(text);
    } catch {
      // A throwing listener must not break the command it watches.
    }
  }
}

/** `data` with each match replaced by the redaction marker. */
function replaced(data: Buffer, matches: Match[]): Buffer {
  if (matches.length === 0) return data;
  const parts: Buffer[] = [];
  let position = 0;
  for (const match of matches) {
    parts.push(data.subarray(position, match.start), REDACTED_BYTES);
    position = match.end;
  }
  parts.push(data.subarray(position));
  return Buffer.concat(parts);
}
