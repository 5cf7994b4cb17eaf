import { Command, CommanderError, Option } from "commander";
import { OPERATIONS, type OperationName } from "../contract/index.js";
import { bindingOf, type CliBinding, type ExtraOption, type Output, type View } from "./binding.js";
import { CLI_BINDINGS } from "./bindings.js";
import { deriveFlag, kebab } from "./schema-options.js";

/** What a command run leaves for the caller: the exit code to use. */
export type CommandRunner = <K extends OperationName>(name: K, input: Record<string, unknown>, json: boolean, view?: View) => Promise<number>;

/** Find or create the subcommand chain `path` under `root`. */
function commandAt(root: Command, path: string[], description: string): Command {
  let parent = root;
  for (const [index, word] of path.entries()) {
    const existing = parent.commands.find((c) => c.name() === word);
    if (existing) {
      parent = existing;
      continue;
    }
    const child = parent.command(word);
    if (index < path.length - 1) child.description(`${path.slice(0, index + 1).join(" ")} commands`);
    parent = child;
  }
  return parent.description(description);
}

function parseInteger(flag: string) {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new CommanderError(2, "pyro.invalidInteger", `${flag} must be an integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

/**
 * The help of a `--no-X` flag from the description of its field, which says
 * what the (default true) field does: "Append a newline (default true)" →
 * "Do not append a newline".
 */
function negated(description: string): string {
  const what = description.replace(/\s*\(default true\)\s*$/, "");
  return `Do not ${what.charAt(0).toLowerCase()}${what.slice(1)}`;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Add one operation's command: positionals, derived flags, extra flags, `--json`. */
function addOperationCommand<K extends OperationName>(root: Command, name: K, binding: CliBinding<K>, run: CommandRunner): void {
  const operation = OPERATIONS[name];
  const command = commandAt(root, binding.path, operation.summary);
  const positionals = binding.positionals ?? [];
  const shape = operation.input.shape as Record<string, { description?: string } | undefined>;
  for (const p of positionals) command.argument(p.optional ? `[${p.name}]` : `<${p.name}>`, shape[p.field]?.description ?? p.name);
  if (binding.trailingCommand) command.argument("[command...]", "the command to run, after --");
  const taken = new Set([...positionals.map((p) => p.field), ...(binding.hide ?? []), ...(binding.trailingCommand ? ["command"] : [])]);
  const flags = new Map<string, string>();
  for (const [field, schema] of Object.entries(operation.input.shape)) {
    if (taken.has(field)) continue;
    const flag = deriveFlag(field, schema);
    if (!flag) continue;
    const flagName = kebab(binding.rename?.[field] ?? field);
    let option: Option;
    if (flag.kind === "boolean") {
      option = flag.defaultValue === true ? new Option(`--no-${flagName}`, negated(flag.description)) : new Option(`--${flagName}`, flag.description);
    } else if (flag.kind === "integer") {
      option = new Option(`--${flagName} <n>`, flag.description).argParser(parseInteger(`--${flagName}`));
    } else if (flag.kind === "string[]") {
      option = new Option(`--${flagName} <value>`, `${flag.description} (repeatable)`).argParser(collect);
    } else {
      option = new Option(`--${flagName} <value>`, flag.description);
      if (flag.choices) option = option.choices(flag.choices);
    }
    command.addOption(option);
    flags.set(option.attributeName(), field);
  }
  const extras = new Map<string, ExtraOption>();
  for (const extra of binding.extra ?? []) {
    const option = new Option(extra.flags, extra.description);
    if (extra.repeatable) option.argParser(collect);
    command.addOption(option);
    extras.set(option.attributeName(), extra);
  }
  command.option("--json", "print the result as JSON (the SDK's object)");
  if (binding.idOnly) command.addOption(new Option("--id-only", "print only the new id, for scripts").conflicts("json"));
  if (binding.contentOnly) command.addOption(new Option("--content-only", "print only the content, exactly, with no notes on stderr").conflicts("json"));
  command.action(async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const values = cmd.opts<Record<string, unknown>>();
    const input: Record<string, unknown> = {};
    positionals.forEach((p, index) => {
      if (args[index] !== undefined) input[p.field] = args[index];
    });
    if (binding.trailingCommand) {
      const words = (args[positionals.length] as string[] | undefined) ?? [];
      input.command = words.length === 1 ? words[0] : words.map(shellQuote).join(" ");
    }
    for (const [attribute, field] of flags) {
      const value = values[attribute];
      // Commander reports negatable flags as true by default; only an explicit --no-x is a choice.
      if (value !== undefined && !(value === true && cmd.getOptionValueSource(attribute) === "default")) input[field] = value;
    }
    for (const [attribute, extra] of extras) {
      const value = values[attribute];
      if (value === undefined) continue;
      try {
        // Commander hands a repeatable flag's values as the array its parser collected.
        if (extra.repeatable) extra.apply(input, Array.isArray(value) ? value.map(String) : [String(value)]);
        else extra.apply(input, String(value));
      } catch (error) {
        throw new CommanderError(2, "pyro.invalidOption", (error as Error).message);
      }
    }
    const view: View | undefined = values.idOnly === true ? "id" : values.contentOnly === true ? "content" : undefined;
    process.exitCode = await run(name, input, values.json === true, view);
  });
}

/** Quote one word for `/bin/sh` so `pyro run env -- a 'b c'` keeps its words. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/**
 * The operations whose commands can parse `argv`: those whose command path
 * agrees with argv's leading words (`workspace exec WS` → `workspace exec`
 * only; `workspace` → every `workspace …`); every operation when argv is
 * undefined or has no leading word.
 */
export function operationsFor(argv: readonly string[] | undefined): OperationName[] {
  const all = (Object.keys(CLI_BINDINGS) as OperationName[]).filter((name) => bindingOf(CLI_BINDINGS, name));
  const words: string[] = [];
  for (const word of argv ?? []) {
    if (word.startsWith("-")) break;
    words.push(word);
  }
  if (words.length === 0) return all;
  return all.filter((name) => {
    const path = bindingOf(CLI_BINDINGS, name)!.path;
    return path.every((word, index) => index >= words.length || words[index] === word);
  });
}

/**
 * Build the `pyro` program: every bound operation plus the commands that are
 * not operations. Given `argv`, only the commands that can parse it
 * ({@link operationsFor}): making a command derives its flags from its schema,
 * and a one-shot `pyro run` should not pay for the other eighty. A command
 * word that names no operation (`help`, a typo) gets the whole tree, for
 * help and suggestions.
 */
export function buildProgram(options: {
  version: string;
  run: CommandRunner;
  extraCommands: (program: Command) => void;
  output: Output;
  /** The arguments the program will parse (without node and the script). */
  argv?: readonly string[];
}): Command {
  const selected = operationsFor(options.argv);
  if (selected.length === 0) {
    // Not an operation: one of the extra commands (`mcp serve`), or help / a typo, which need every command.
    const extras = new Command("pyro");
    options.extraCommands(extras);
    const first = options.argv?.[0];
    if (!extras.commands.some((c) => c.name() === first)) return buildProgram({ ...options, argv: undefined });
  }
  const program = new Command("pyro")
    .description("Isolated command execution and persistent, disposable workspaces for coding agents, in microVMs.")
    .version(options.version, "--version", "print the pyro version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: options.output.stdout, writeErr: options.output.stderr })
    .exitOverride();
  // In the bindings' order, which is the order of `pyro --help`.
  for (const name of selected) addOperationCommand(program, name, bindingOf(CLI_BINDINGS, name)!, options.run);
  options.extraCommands(program);
  const exitOverride = (command: Command) => {
    command.exitOverride().configureOutput({ writeOut: options.output.stdout, writeErr: options.output.stderr });
    command.showHelpAfterError("(run with --help for usage)");
    command.commands.forEach(exitOverride);
  };
  program.commands.forEach(exitOverride);
  return program;
}

