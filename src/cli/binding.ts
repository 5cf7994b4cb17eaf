import type { OperationName, OperationResult } from "../contract/index.js";

/** Where human-readable output goes. */
export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** A flag the schema cannot describe by itself (objects, `NAME=VALUE` pairs…). */
export interface ExtraOption {
  /** Commander flag syntax, e.g. `--secret <NAME=VALUE>`. */
  flags: string;
  description: string;
  /** May be given several times; `apply` then receives every value. */
  repeatable?: boolean;
  /** Fold the flag's value into the operation input. */
  apply: (input: Record<string, unknown>, value: never) => void;
}

/** How one operation appears on the command line. */
export interface CliBinding<K extends OperationName> {
  /** Command words, e.g. `["workspace", "exec"]`. */
  path: string[];
  /** Input fields taken as positional arguments, in order. */
  positionals?: Array<{ field: string; name: string; optional?: boolean }>;
  /** Whether `-- COMMAND...` supplies the `command` field. */
  trailingCommand?: boolean;
  /** Flag names that differ from the field name (`output_path` → `output`). */
  rename?: Record<string, string>;
  /** Fields not exposed as derived flags (set by `extra` options instead). */
  hide?: string[];
  extra?: ExtraOption[];
  /** Human output (default: `key: value` lines). */
  print?: (result: OperationResult<K>, out: Output) => void;
  /** The process exit code for a successful call, in human and `--json` mode alike (default 0). */
  exitCode?: (result: OperationResult<K>) => number;
}

/** An operation CONTRACT.md gives no CLI command; `reason` says where it lives instead. */
export interface NoCliBinding {
  none: string;
}

/** One entry per operation: a missing one fails the typecheck. */
export type CliBindings = { [K in OperationName]: CliBinding<K> | NoCliBinding };
