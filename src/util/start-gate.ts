import type { Writable } from "node:stream";

/**
 * Holds detached children back until it opens: each gated child's stdin is
 * a pipe this process keeps the write end of, and the child's first step
 * ({@link GATE_WAIT}) reads it to end of file. {@link open} ends every pipe;
 * so does this process's exit, however it ends: a gated child never waits
 * on a holder that is gone. Lets a process do the host part of starting
 * something (fork, exec, bookkeeping) while it would otherwise wait, and
 * the started program's own work begin only once the holder is done (the
 * pool's refill during a command: core/pool).
 */
export class StartGate {
  private readonly held: Writable[] = [];
  private readonly onOpen: Array<() => void> = [];
  private opened = false;

  /** Whether {@link open} was called. */
  get isOpen(): boolean {
    return this.opened;
  }

  /** Keep `stdin`, a gated child's pipe, until the gate opens (at once if it is open). */
  hold(stdin: Writable): void {
    // Ignored: the child may exit (or be killed) before the gate opens.
    stdin.on("error", () => undefined);
    // The pipe alone must not keep this process alive: its exit opens the gate too (a child's stdin is a net.Socket).
    (stdin as Writable & { unref?: () => void }).unref?.();
    if (this.opened) stdin.end();
    else this.held.push(stdin);
  }

  /** Run `fn` when the gate opens (now, if it is open). */
  whenOpen(fn: () => void): void {
    if (this.opened) fn();
    else this.onOpen.push(fn);
  }

  /** Let every gated child go on, now and from now on. */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    for (const stdin of this.held.splice(0)) stdin.end();
    for (const fn of this.onOpen.splice(0)) fn();
  }
}

/**
 * The shell step a gated child runs first: wait for end of file on stdin
 * (the gate opening, or its holder gone), then give the rest /dev/null as
 * stdin. `read` fails at end of file; that is the expected way out.
 */
export const GATE_WAIT = "read -r _ || :; exec </dev/null";
