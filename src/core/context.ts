import { join } from "node:path";
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
}

/** Where VM records live. */
export function vmsRoot(context: CoreContext): string {
  return join(context.stateDir, "vms");
}

/** Where workspace records live. */
export function workspacesRoot(context: CoreContext): string {
  return join(context.stateDir, "workspaces");
}
