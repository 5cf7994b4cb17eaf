import { PyroError } from "../util/errors.js";

/**
 * Host-side bounds on agent requests. The guest enforces a command's own
 * timeout, but a wedged or hostile agent never answers at all: without a
 * bound on this side, the caller would wait forever. Two kinds:
 *
 * - a **deadline** for requests that may legitimately stay silent for a known
 *   time (an exec with its `timeout_ms`, a readiness wait): the request's own
 *   timeout plus {@link deadlineMargin};
 * - a **stall** watchdog for everything else (short control requests,
 *   archive transfers of any size): the request fails once neither the agent
 *   sent a frame for it nor the transport took bytes of it for `stallMs`.
 *
 * Either way the whole session is torn down (the agent, if it is alive, sees
 * the disconnect and kills the session's processes) and the request rejects
 * with a `timeout` PyroError.
 */
export interface RequestBounds {
  /** Reject once the request has not finished this many ms after it was sent. */
  deadlineMs?: number;
  /** Reject once the request made no progress for this many ms (ignored with `deadlineMs`). */
  stallMs?: number;
}

/** The least a deadline adds to a request's own timeout: slack for process start, kill and delivery on a slow (emulated) guest. */
export const DEADLINE_MARGIN_MIN_MS = 10_000;

/** How long a request without a timeout of its own may go without progress (no frame, no bytes taken) before its session is torn down. */
export const DEFAULT_STALL_MS = 60_000;

/** setTimeout's largest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The margin a host-side deadline adds to a request's own timeout: 10 s, or a
 * tenth of the timeout when that is longer (output of a long command still
 * has to be collected and delivered after the guest kills it).
 */
export function deadlineMargin(timeoutMs: number): number {
  return Math.max(DEADLINE_MARGIN_MIN_MS, Math.ceil(timeoutMs / 10));
}

/** The host-side deadline of a request whose guest-side timeout is `timeoutMs`. */
export function deadlineFor(timeoutMs: number): number {
  return timeoutMs + deadlineMargin(timeoutMs);
}

/** The `timeout` error of a request whose bound passed. */
export function agentTimeout(op: string, bounds: RequestBounds, elapsedMs: number): PyroError {
  const why =
    bounds.deadlineMs !== undefined
      ? `did not answer ${op} within ${seconds(bounds.deadlineMs)} s (its own timeout plus a margin)`
      : `made no progress on ${op} for ${seconds(elapsedMs)} s`;
  return new PyroError("timeout", `the guest agent ${why}; the session was torn down`, {
    hint: "the machine may be wedged or badly overloaded: delete the VM, or reset the workspace (`pyro workspace reset ID`) or delete it, then retry",
    details: { op, ...(bounds.deadlineMs !== undefined ? { deadline_ms: bounds.deadlineMs } : { stall_ms: bounds.stallMs }) },
  });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1);
}

/**
 * One request's bound. Call {@link progress} whenever the request moves;
 * `onExpire` runs once when the bound passes, unless {@link stop}ped first.
 */
export class RequestWatch {
  private timer: NodeJS.Timeout | undefined;
  private last: number;
  private readonly started: number;

  /**
   * @param bounds the request's deadline, else its stall bound
   * @param held whether the host itself holds the request up (a paused
   *   transport): that time is never the agent's fault
   * @param onExpire called once, with how long the request waited
   */
  constructor(
    private readonly bounds: RequestBounds,
    private readonly held: () => boolean,
    private readonly onExpire: (elapsedMs: number) => void,
  ) {
    this.started = this.last = Date.now();
    const first = bounds.deadlineMs ?? bounds.stallMs;
    if (first !== undefined) this.arm(first);
  }

  /** The request moved (a frame arrived, the transport took its bytes). */
  progress(): void {
    this.last = Date.now();
  }

  /** The request finished: the bound no longer applies. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), Math.min(Math.max(ms, 1), MAX_TIMER_MS));
  }

  private check(): void {
    const now = Date.now();
    if (this.bounds.deadlineMs !== undefined) {
      // A deadline counts from the start; a timer may fire early only past MAX_TIMER_MS.
      const left = this.started + this.bounds.deadlineMs - now;
      if (left > 0) return this.arm(left);
      this.timer = undefined;
      return this.onExpire(now - this.started);
    }
    const stallMs = this.bounds.stallMs!;
    if (this.held()) this.last = now;
    const left = this.last + stallMs - now;
    if (left > 0) return this.arm(left);
    this.timer = undefined;
    this.onExpire(now - this.last);
  }
}
