import { environmentCacheDir, stateDir } from "../util/paths.js";
import { createBackends } from "../runtime/index.js";
import type { CoreContext } from "./context.js";
import { createHandlers, type Handlers } from "./handlers.js";
import { BackendRegistry } from "./machines/select.js";
import { CoreLifetime } from "./lifetime.js";

export type { Handler, Handlers } from "./handlers.js";
export type { CoreContext } from "./context.js";

/** Options of {@link createCore}; every field has a default from the environment. */
export interface CoreOptions {
  stateDir?: string;
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  progress?: (line: string) => void;
  /** Keep a warm spare machine for one-shot runs (default true; short-lived processes turn it off). */
  warmSpares?: boolean;
}

/** Build the runtime behind one `Pyro`: context, backends and handlers. */
export function createCore(options: CoreOptions = {}): { context: CoreContext; handlers: Handlers; close: () => Promise<void> } {
  const env = options.env ?? process.env;
  const context: CoreContext = {
    stateDir: options.stateDir ?? stateDir(env),
    cacheDir: options.cacheDir ?? environmentCacheDir(env),
    env,
    backends: new BackendRegistry(createBackends(env)),
    progress: options.progress ?? (() => {}),
    warmSpares: options.warmSpares ?? true,
    lifetime: new CoreLifetime(),
  };
  return { context, handlers: createHandlers(context), close: () => context.lifetime.close() };
}
