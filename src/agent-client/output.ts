/**
 * Accumulates one output stream of an exec up to a byte limit, independently
 * of what the guest claims: the rest is counted and dropped.
 */
export class BoundedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  /** Whether anything was dropped. */
  truncated = false;
  /** Bytes received in all. */
  received = 0;

  constructor(private readonly limit: number) {}

  /** Add a chunk; keeps what fits. */
  push(chunk: Buffer): void {
    this.received += chunk.length;
    const room = this.limit - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  /** The kept bytes as text; invalid UTF-8 becomes U+FFFD. */
  text(): string {
    return Buffer.concat(this.chunks, this.size).toString("utf8");
  }
}
