import { Command, CommanderError, Option } from "commander";
import { OPERATIONS, type OperationName } from "../contract/index.js";
import { bindingOf, type CliBinding, type ExtraOption, type Output } from "./binding.js";
import { CLI_BINDINGS } from "./bindings.js";
import { deriveFlag, kebab } from "./schema-options.js";

/** What a command run leaves for the caller: the exit code to use. */
export type CommandRunner = <K extends OperationName>(name: K, input: Record<string, unknown>, json: boolean, printFlags?: Record<string, unknown>) => Promise<number>;

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
  const printFlags: string[] = [];
  for (const flag of binding.printFlags ?? []) {
    const option = new Option(flag.flags, flag.description);
    command.addOption(option);
    printFlags.push(option.attributeName());
  }
  command.option("--json", "print the result as JSON (the SDK's object)");
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
    const printValues = Object.fromEntries(printFlags.map((attribute) => [attribute, values[attribute]]));
    process.exitCode = await run(name, input, values.json === true, printValues);
  });
}

/** Quote one word for `/bin/sh` so `pyro run env -- a 'b c'` keeps its words. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** Build the `pyro` program: every bound operation plus the commands that are not operations. */
export function buildProgram(options: {
  version: string;
  run: CommandRunner;
  extraCommands: (program: Command) => void;
  output: Output;
}): Command {
  const program = new Command("pyro")
    .description("Isolated command execution and persistent, disposable workspaces for coding agents, in microVMs.")
    .version(options.version, "--version", "print the pyro version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: options.output.stdout, writeErr: options.output.stderr })
    .exitOverride();
  // In the bindings' order, which is the order of `pyro --help`.
  for (const name of Object.keys(CLI_BINDINGS) as OperationName[]) {
    const binding = bindingOf(CLI_BINDINGS, name);
    if (binding) addOperationCommand(program, name, binding, options.run);
  }
  options.extraCommands(program);
  const exitOverride = (command: Command) => {
    command.exitOverride().configureOutput({ writeOut: options.output.stdout, writeErr: options.output.stderr });
    command.showHelpAfterError("(run with --help for usage)");
    command.commands.forEach(exitOverride);
  };
  program.commands.forEach(exitOverride);
  return program;
}

