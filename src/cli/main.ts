import { Command, CommanderError } from "commander";
import { CATALOG_VERSION, Pyro, PyroError, type OperationName } from "../sdk/index.js";
import { bindingOf, type Output } from "./binding.js";
import { CLI_BINDINGS } from "./bindings.js";
import { registerDemoCommands } from "./demo.js";
import { EXIT_CODES, USAGE_EXIT_CODE } from "./exit-codes.js";
import { printFields } from "./format.js";
import { buildProgram } from "./program.js";
import { toPyroError } from "../contract/index.js";
import { packageVersion, resolveConfig } from "../contract/index.js";

const output: Output = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Print a failure the way the user asked (JSON on stdout, or text on stderr) and return its exit code. */
function reportError(error: unknown, json: boolean): number {
  const pyroError = toPyroError(error);
  if (json) output.stdout(`${JSON.stringify(pyroError.toJSON(), null, 2)}\n`);
  else output.stderr(`error: ${pyroError.describe()}\n`);
  if (pyroError.code === "internal" && resolveConfig(process.env).debug) output.stderr(`${(error as Error).stack}\n`);
  return EXIT_CODES[pyroError.code];
}

/** What the CLI needs from the other faces; the entry point (src/cli.ts) wires it. */
export interface CliDependencies {
  /** Serve MCP over stdio until the client disconnects. */
  serveMcp: (pyro: Pyro) => Promise<void>;
}

/** Run `pyro` with these arguments; resolves to the process exit code. */
export async function main(argv: string[], dependencies: CliDependencies): Promise<number> {
  // `pyro mcp serve` is the one long-lived CLI process: only it keeps warm spares.
  const pyro = new Pyro({ onProgress: (line) => output.stderr(`${line}\n`), warmSpares: argv[0] === "mcp" });
  // Generic over the operation, so its result and its binding's printer share one type.
  const run = async <K extends OperationName>(name: K, input: Record<string, unknown>, json: boolean): Promise<number> => {
    try {
      const result = await pyro.call(name, input);
      const binding = bindingOf(CLI_BINDINGS, name);
      if (json) output.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else if (binding?.print) binding.print(result, output);
      else printFields(result, output);
      return binding?.exitCode ? binding.exitCode(result) : 0;
    } catch (error) {
      return reportError(error, json);
    }
  };
  const program = buildProgram({
    // The original printed its catalog version beside its own; users compare both.
    version: `pyro ${packageVersion()} (environment catalog ${CATALOG_VERSION})`,
    run,
    output,
    extraCommands: (root: Command) => {
      root
        .command("mcp")
        .description("MCP server commands")
        .command("serve")
        .description("Serve every pyro tool over MCP on stdin/stdout (stdout carries protocol messages only)")
        .action(async () => {
          await dependencies.serveMcp(pyro);
          // Kill the warm spare and wait for it, rather than leaving it to die with the process.
          await pyro.close();
        });
      registerDemoCommands(root, pyro, output, reportError);
    },
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return 0;
      if (error.code.startsWith("pyro.")) output.stderr(`error: ${error.message}\n`);
      return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    }
    if (error instanceof PyroError) return reportError(error, false);
    return reportError(error, false);
  }
}

