import { resolveConfig } from "../util/config.js";
import { createBackends } from "../runtime/index.js";
import type { CoreContext } from "./context.js";
import { createHandlers, type Handlers } from "./handlers.js";
import { BackendRegistry } from "./machines/select.js";
import { CoreLifetime } from "./lifetime.js";
import { scopedProgress } from "./call-scope.js";

export { withCallProgress, withCallSignal } from "./call-scope.js";

export type { Handler, Handlers } from "./handlers.js";
export type { CoreContext } from "./context.js";
/** Version of the environment catalog this build ships (`pyro --version`, `env list`). */
export { CATALOG_VERSION } from "../environments/catalog.js";

/** Options of {@link createCore}; every field has a default from the environment. */
export interface CoreOptions {
  /** Wins over `PYRO_STATE_DIR`. */
  stateDir?: string;
  /** Wins over `PYRO_ENVIRONMENT_CACHE_DIR`. */
  cacheDir?: string;
  /** The environment to resolve the configuration from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  progress?: (line: string) => void;
  /** Keep a warm spare machine for one-shot runs (default true; short-lived processes turn it off). */
  warmSpares?: boolean;
  /** The process exits after its one call (default false; see CoreContext). */
  exitsAfterCall?: boolean;
}

/**
 * Build the runtime behind one `Pyro`: its configuration (resolved here, once),
 * then context, backends and handlers, all given that configuration.
 */
export function createCore(options: CoreOptions = {}): { context: CoreContext; handlers: Handlers; close: () => Promise<void> } {
  const config = resolveConfig(options.env ?? process.env, { stateDir: options.stateDir, cacheDir: options.cacheDir });
  const context: CoreContext = {
    config,
    stateDir: config.stateDir,
    cacheDir: config.cacheDir,
    backends: new BackendRegistry(createBackends(config)),
    progress: scopedProgress(options.progress ?? (() => {})),
    warmSpares: options.warmSpares ?? true,
    exitsAfterCall: options.exitsAfterCall ?? false,
    lifetime: new CoreLifetime(),
  };
  return { context, handlers: createHandlers(context), close: () => context.lifetime.close() };
}
