import { OPERATIONS, type OperationInput, type OperationName, type ResultFor } from "../../src/contract/index.js";
import type { CoreContext } from "../../src/core/context.js";
import { createHandlers } from "../../src/core/handlers.js";
import { CoreLifetime } from "../../src/core/lifetime.js";
import { resolveConfig } from "../../src/util/config.js";
import { BackendRegistry } from "../../src/core/machines/select.js";
import { TEST_CACHE_DIR } from "./env.js";
import { LocalAgentBackend } from "./local-backend.js";

/** Call an operation the way `Pyro#call` does: input parsed by its schema, result checked against its contract. */
export type CoreCall = <K extends OperationName, const I extends OperationInput<K>>(name: K, input: I) => Promise<ResultFor<K, I>>;

/**
 * Core handlers over the local fake backend (local-backend.ts), registered in
 * the sandbox's place: every core operation runs without root, namespaces or
 * a VM. No warm spares, no environment variables read.
 */
export function localCore(stateDir: string): { call: CoreCall; backend: LocalAgentBackend; context: CoreContext } {
  const backend = new LocalAgentBackend("sandbox");
  const context: CoreContext = {
    stateDir,
    cacheDir: TEST_CACHE_DIR,
    backends: new BackendRegistry([backend]),
    config: resolveConfig({}, { stateDir, cacheDir: TEST_CACHE_DIR }),
    progress: () => {},
    warmSpares: false,
    exitsAfterCall: false,
    lifetime: new CoreLifetime(),
  };
  const handlers = createHandlers(context);
  const call: CoreCall = async (name, input) => {
    const operation = OPERATIONS[name];
    const handler = handlers[name] as (input: unknown) => Promise<unknown>;
    return operation.result.parse(await handler(operation.input.parse(input))) as ResultFor<typeof name, typeof input>;
  };
  return { call, backend, context };
}
