/**
 * What one `Pyro` holds between calls and must let go of when it is closed:
 * warm spare machines today (vms/spares.ts), pooled machines later (issue 12).
 * Each holder registers its release here when it is made; `Pyro#close()`
 * runs them all.
 */
export class CoreLifetime {
  private readonly releases: Array<() => Promise<void>> = [];
  private closing: Promise<void> | null = null;

  /** Whether {@link close} was called. Holders refuse to keep anything new once it was. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /** Run `release` on close (at once when already closed). */
  onClose(release: () => Promise<void>): void {
    if (this.closing) void this.closing.then(release).catch(() => undefined);
    else this.releases.push(release);
  }

  /**
   * Run every release, each once, and wait for all of them; one failing does
   * not stop the others. Idempotent: later calls wait for the first.
   */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled(this.releases.splice(0).map((release) => release())).then(() => undefined);
    return this.closing;
  }
}
