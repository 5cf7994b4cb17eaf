export { Pyro } from "./pyro.js";
export { CATALOG_VERSION } from "../core/index.js";
export type { PyroOptions, PyroMethods } from "./pyro.js";
export { OPERATIONS, OPERATION_NAMES, DEFAULTS, LIMITS, PyroError, ERROR_CODES, toPyroError } from "../contract/index.js";
export type { OperationName, OperationInput, OperationResult, ErrorCode, PyroConfig } from "../contract/index.js";
export { BACKEND_NAMES, EXECUTION_MODES, NETWORK_POLICIES } from "../contract/index.js";
export type { BackendName, ExecutionMode, NetworkPolicy } from "../contract/index.js";
