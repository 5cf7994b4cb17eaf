import { join } from "node:path";
import type { CoreLifetime } from "./lifetime.js";
import type { BackendRegistry } from "./machines/select.js";

/** Everything core code needs from its caller; one per `Pyro` instance. */
export interface CoreContext {
  /** Root of VM and workspace records. */
  stateDir: string;
  /** Root of the environment cache. */
  cacheDir: string;
  backends: BackendRegistry;
  /** Environment variables to read (`PYRO_BACKEND`…); `process.env` by default. */
  env: NodeJS.ProcessEnv;
  /** Phase and progress lines for long work (`[run] phase=…`); the CLI prints them on stderr. */
  progress: (line: string) => void;
  /** Keep a warm spare machine for the next one-shot run (long-lived callers; see vms/spares.ts). */
  warmSpares: boolean;
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
