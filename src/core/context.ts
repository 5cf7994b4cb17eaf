import { join } from "node:path";
import type { CoreLifetime } from "./lifetime.js";
import type { PyroConfig } from "../util/config.js";
import type { BackendRegistry } from "./machines/select.js";

/** Everything core code needs from its caller; one per `Pyro` instance. */
export interface CoreContext {
  /** The one configuration of this `Pyro`, resolved from its options and the environment; the backends got the same. */
  config: PyroConfig;
  /** Root of VM and workspace records (`config.stateDir`). */
  stateDir: string;
  /** Root of the environment cache (`config.cacheDir`). */
  cacheDir: string;
  backends: BackendRegistry;
  /** Phase and progress lines for long work (`[run] phase=…`); the CLI prints them on stderr. */
  progress: (line: string) => void;
  /** Keep a warm spare machine for the next one-shot run (long-lived callers; see vms/spares.ts). */
  warmSpares: boolean;
  /**
   * The process ends with its call (the `pyro` CLI): the pool's refill starts
   * during the call, held back until it ends (core/pool), so the exit need
   * not wait for it. A long-lived process refills after the call, off every
   * caller's clock.
   */
  exitsAfterCall: boolean;
  /** What this instance holds between calls (spares, pooled machines) registers its release here; `Pyro#close()` runs them. */
  lifetime: CoreLifetime;
}

/** Where VM records live. */
export function vmsRoot(context: CoreContext): string {
  return join(context.stateDir, "vms");
}

/** Where warm spare machines live. */
export function sparesRoot(context: CoreContext): string {
  return join(context.stateDir, "spares");
}

/** Where workspace records live. */
export function workspacesRoot(context: CoreContext): string {
  return join(context.stateDir, "workspaces");
}
