import {
  OPERATIONS,
  OPERATION_NAMES,
  type CallOptions,
  PyroError,
  type OperationInput,
  type PyroConfig,
  type OperationName,
  type OperationResult,
  type CancellableCreate,
  type CommandCallOptions,
  type CreateCallOptions,
  type StreamingOperation,
  type NarrowedOperation,
  type ResultFor,
} from "../contract/index.js";
import { createCore, withCallProgress, withCallSignal, type Handlers } from "../core/index.js";
import { OperationMethods } from "./methods.generated.js";
import { parseInput } from "./validate.js";

// Node 20.4+ defines Symbol.asyncDispose; earlier 20.x do not. Its value is the
// registered symbol Node and TypeScript's `await using` agree on.
if (typeof Symbol.asyncDispose !== "symbol") Object.defineProperty(Symbol, "asyncDispose", { value: Symbol.for("nodejs.asyncDispose") });

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
  /**
   * This process makes one call and exits (as the `pyro` CLI does). A call
   * that takes a pooled machine then refills the pool while its command runs
   * (the new machine's restore held back until the call ends), so the exit
   * does not wait for the refill. Default false: a long-lived process
   * refills after each call, in the background, off every caller's clock.
   */
  exitsAfterCall?: boolean;
}

/** The keys of `T` a caller must pass. */
type RequiredKeys<T> = { [P in keyof T]-?: Record<never, never> extends Pick<T, P> ? never : P }[keyof T];

type MethodFor<K extends OperationName> = K extends NarrowedOperation
  ? K extends StreamingOperation
    ? <const I extends OperationInput<K>>(input: I, options?: CommandCallOptions) => Promise<ResultFor<K, I>>
    : <const I extends OperationInput<K>>(input: I) => Promise<ResultFor<K, I>>
  : K extends StreamingOperation
    ? (input: OperationInput<K>, options?: CommandCallOptions) => Promise<OperationResult<K>>
    : K extends CancellableCreate
      ? (input: OperationInput<K>, options?: CreateCallOptions) => Promise<OperationResult<K>>
      : [RequiredKeys<OperationInput<K>>] extends [never]
      ? (input?: OperationInput<K>) => Promise<OperationResult<K>>
      : (input: OperationInput<K>) => Promise<OperationResult<K>>;

/**
 * One camelCase method per operation, taking and returning snake_case objects:
 * the shape of {@link Pyro}'s operation methods (a test holds the generated
 * class to it).
 */
export type PyroMethods = { [K in OperationName]: MethodFor<K> };

/**
 * The pyro SDK: every operation of CONTRACT.md as a method. Inputs are
 * validated here (the edge); results are plain objects, identical to the MCP
 * tools' structured results and the CLI's `--json` output.
 *
 * The methods come from the catalog at build time (`methods.generated.ts`,
 * each documented with its operation's summary). A `Pyro` may keep a warm
 * spare machine: `close()` it, or `await using` it, when done.
 *
 * @example
 * const pyro = new Pyro();
 * const result = await pyro.runInVm({ environment: "debian:12", command: "git --version" });
 * await pyro.close();
 */
export class Pyro extends OperationMethods implements AsyncDisposable {
  /** The configuration this instance resolved once from its options and the environment (README "Configuration"). */
  readonly config: PyroConfig;
  private readonly handlers: Handlers;
  private readonly release: () => Promise<void>;
  private closing: Promise<void> | null = null;

  constructor(options: PyroOptions = {}) {
    super();
    const core = createCore({
      stateDir: options.stateDir,
      cacheDir: options.cacheDir,
      env: options.env,
      progress: options.onProgress,
      warmSpares: options.warmSpares,
      exitsAfterCall: options.exitsAfterCall,
    });
    this.config = core.context.config;
    this.handlers = core.handlers;
    this.release = core.close;
  }

  /**
   * Call an operation by its SDK name with unvalidated input: what the CLI
   * and MCP faces use, typed by the operation's name. The input is validated
   * against the operation's schema, the result against its contract.
   * `options` stream a command's output, abort or signal it (the operations
   * of `STREAMING_OPERATIONS`), and receive this call's progress lines.
   */
  override async call<K extends OperationName>(name: K, input?: unknown, options?: CallOptions): Promise<OperationResult<K>> {
    if (this.closing) {
      throw new PyroError("failed_precondition", `this Pyro was closed; ${name} cannot run`, { hint: "create a new Pyro for more calls" });
    }
    const operation = OPERATIONS[name];
    const parsed = parseInput(name, operation.input, input);
    const handler = this.handlers[name] as (input: unknown, options?: CallOptions) => Promise<unknown>;
    const result = operation.result.safeParse(await withCallProgress(options?.onProgress, () => withCallSignal(options?.signal, () => handler(parsed, options))));
    // The result schema is the contract every face promises; a mismatch is a pyro bug.
    if (!result.success) {
      throw new PyroError("internal", `${name} produced a result outside its contract: ${result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    return result.data as OperationResult<K>;
  }

  /**
   * Call an operation by its MCP tool name (`vm_run`, `workspace_exec`…), as a
   * provider tool loop receives it from a model: the same validation, result
   * and errors as the MCP server's `tools/call`. An unknown tool is
   * `not_found`, naming the tools there are.
   */
  async callTool(tool: string, input?: unknown, options?: CallOptions): Promise<unknown> {
    const name = OPERATION_NAMES.find((candidate) => OPERATIONS[candidate].mcp === tool);
    if (!name) {
      const tools = OPERATION_NAMES.flatMap((candidate) => OPERATIONS[candidate].mcp ?? []);
      throw new PyroError("not_found", `no tool named ${JSON.stringify(tool)}`, { hint: `pyro's tools are ${tools.join(", ")}` });
    }
    return this.call(name, input, options);
  }

  /**
   * Release what this instance keeps between calls: its warm spare machine
   * (killed, its files removed) and, once pools exist, its pooled machines.
   * VMs and workspaces it created are records in the state dir and stay.
   * Later calls fail with `failed_precondition`. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }

  /** {@link close}, for `await using pyro = new Pyro()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
