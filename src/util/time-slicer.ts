import { performance } from "node:perf_hooks";

/**
 * Lets a long run of synchronous work (many small file reads, each far cheaper
 * than a trip through the threadpool) give the event loop a turn every
 * `sliceMs`, so a pull in a long-lived process (the MCP server) does not stall
 * its other calls.
 */
export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(private readonly sliceMs = 20) {}

  /** Resolves at once within a slice; once the slice is used up, on the event loop's next turn. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }
}
