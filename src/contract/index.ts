export { NARROWED_RESULTS, OPERATIONS, OPERATION_NAMES } from "./catalog.js";
export type { OperationName, OperationInput, ParsedInput, OperationResult, ResultFor, NarrowedOperation } from "./catalog.js";
export type { Operation } from "./operation.js";
export { OPERATION_EFFECTS } from "./effects.js";
export type { Effect, OperationEffect } from "./effects.js";
export { DEFAULTS, LIMITS } from "./defaults.js";
export { ERROR_CODES, PyroError, toPyroError } from "../util/errors.js";
export type { ErrorCode } from "../util/errors.js";
// The shared words (backend names, modes, policies, states) live in util/ so every layer can use them; this is their public home.
export * from "../util/vocabulary.js";
/** pyro's configuration: every `PYRO_*` variable, resolved in one place (README "Configuration"). */
export { CONFIG_VARIABLES, resolveConfig } from "../util/config.js";
export type { ConfigVariable, PyroConfig } from "../util/config.js";
/** The version of this package (its package.json), for `--version` and the MCP server info. */
export { packageVersion } from "../util/paths.js";
export { CANCELLABLE_CREATES, STREAMING_OPERATIONS, isCancellableCreate, isStreamingOperation } from "./call-options.js";
export type { CallOptions, CancellableCreate, CommandCallOptions, CreateCallOptions, RunningCommand, StreamingOperation } from "./call-options.js";
/** MCP tool profiles (`pyro mcp serve --profile`). */
export { DEFAULT_MCP_PROFILE, MCP_PROFILES, PROFILES, hiddenFields, profileServes } from "./profiles.js";
export type { McpProfile } from "./profiles.js";
