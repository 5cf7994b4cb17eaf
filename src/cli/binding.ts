import type { OperationName, OperationResult } from "../contract/index.js";

/** Where human-readable output goes. */
export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

interface ExtraOptionBase {
  /** Commander flag syntax, e.g. `--secret <NAME=VALUE>`. */
  flags: string;
  description: string;
}

/** A flag the schema cannot describe by itself (objects, `NAME=VALUE` pairs…). */
export type ExtraOption =
  | (ExtraOptionBase & {
      /** Given once; `apply` receives its value. */
      repeatable?: false;
      /** Fold the flag's value into the operation input. */
      apply: (input: Record<string, unknown>, value: string) => void;
    })
  | (ExtraOptionBase & {
      /** May be given several times; `apply` receives every value. */
      repeatable: true;
      /** Fold the flag's values into the operation input. */
      apply: (input: Record<string, unknown>, values: string[]) => void;
    });

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
  /** Flags that change only the human output (`--content-only`); `print` receives their values. */
  printFlags?: Array<{ flags: string; description: string }>;
  /** Human output (default: `key: value` lines); `flags` holds the values of `printFlags`. */
  print?: (result: OperationResult<K>, out: Output, flags: Record<string, unknown>) => void;
  /** The process exit code for a successful call, in human and `--json` mode alike (default 0). */
  exitCode?: (result: OperationResult<K>) => number;
}

/** An operation CONTRACT.md gives no CLI command; `reason` says where it lives instead. */
export interface NoCliBinding {
  none: string;
}

/** One entry per operation: a missing one fails the typecheck. */
export type CliBindings = { [K in OperationName]: CliBinding<K> | NoCliBinding };

/** The command-line binding of `name` in `bindings`, typed by the operation; undefined for SDK- and MCP-only operations. */
export function bindingOf<K extends OperationName>(bindings: CliBindings, name: K): CliBinding<K> | undefined {
  const binding: CliBinding<K> | NoCliBinding = bindings[name];
  return "none" in binding ? undefined : binding;
}
