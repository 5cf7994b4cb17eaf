import { SYNC_MARKER } from "./constants.js";

/** failure[i]: length of the longest proper border of SYNC_MARKER[0..i]. */
const failure: number[] = (() => {
  const f = new Array<number>(SYNC_MARKER.length).fill(0);
  let k = 0;
  for (let i = 1; i < SYNC_MARKER.length; i++) {
    while (k > 0 && SYNC_MARKER[i] !== SYNC_MARKER[k]) k = f[k - 1] ?? 0;
    if (SYNC_MARKER[i] === SYNC_MARKER[k]) k++;
    f[i] = k;
  }
  return f;
})();

/**
 * Finds the `PYROSYNC` marker in a byte stream fed in arbitrary chunks (the
 * marker may straddle chunks). It keeps only a match counter, so any amount of
 * garbage before the marker costs no memory.
 */
export class SyncScanner {
  private matched = 0;
  private seen = 0;
  private done = false;

  /**
   * Scan `chunk`. Returns the offset in `chunk` just past the marker once it
   * is found (the frames start there), or -1 when the marker is not complete
   * yet. After a hit the scanner is spent; make a new one to scan again.
   */
  push(chunk: Uint8Array): number {
    if (this.done) throw new Error("SyncScanner already found the marker");
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      for (;;) {
        if (SYNC_MARKER[this.matched] === byte) {
          this.matched++;
          break;
        }
        if (this.matched === 0) break;
        this.matched = failure[this.matched - 1] ?? 0;
      }
      this.seen++;
      if (this.matched === SYNC_MARKER.length) {
        this.done = true;
        return i + 1;
      }
    }
    return -1;
  }

  /** Bytes discarded before the marker so far (or in total, once found). */
  get skipped(): number {
    return this.seen - this.matched;
  }
}
