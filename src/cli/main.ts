import { Command, CommanderError, Option } from "commander";
import { CATALOG_VERSION, Pyro, PyroError, type OperationName } from "../sdk/index.js";
import { bindingOf, type Output, type View } from "./binding.js";
import { CLI_BINDINGS } from "./bindings.js";
import { registerDemoCommands } from "./demo.js";
import { EXIT_CODES, USAGE_EXIT_CODE } from "./exit-codes.js";
import { printFields } from "./format.js";
import { forwardInterrupts, INTERRUPTED_EXIT_CODE } from "./interrupt.js";
import { buildProgram } from "./program.js";
import { isCancellableCreate, isStreamingOperation, toPyroError } from "../contract/index.js";
import { DEFAULT_MCP_PROFILE, MCP_PROFILES, PROFILES, packageVersion, resolveConfig, type McpProfile } from "../contract/index.js";

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
  /** Serve MCP (the tools of `profile`) over stdio until the client disconnects. */
  serveMcp: (pyro: Pyro, profile: McpProfile) => Promise<void>;
}

/** Run `pyro` with these arguments; resolves to the process exit code. */
export async function main(argv: string[], dependencies: CliDependencies): Promise<number> {
  // `pyro mcp serve` is the one long-lived CLI process: only it keeps warm spares.
  // One call, then exit: no warm spares, and the pool refills during the call (PyroOptions.exitsAfterCall).
  const longLived = argv[0] === "mcp";
  const pyro = new Pyro({ onProgress: (line) => output.stderr(`${line}\n`), warmSpares: longLived, exitsAfterCall: !longLived });
  // Generic over the operation, so its result and its binding's printer share one type.
  const run = async <K extends OperationName>(name: K, input: Record<string, unknown>, json: boolean, view?: View): Promise<number> => {
    // A command's output is printed as it arrives (not with --json, whose stdout is one object), and Ctrl-C goes to it.
    // Ctrl-C while a create waits for its machine cancels it, which deletes what it made.
    const interrupts = isStreamingOperation(name) ? forwardInterrupts(output) : isCancellableCreate(name) ? forwardInterrupts(output, "the workspace will not be created") : null;
    const streamed = isStreamingOperation(name) && !json;
    try {
      const result = await pyro.call(name, input, {
        ...interrupts?.options,
        ...(streamed ? { onStdout: output.stdout, onStderr: output.stderr } : {}),
      });
      const binding = bindingOf(CLI_BINDINGS, name);
      if (json) output.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else if (view === "id" && binding?.idOnly) output.stdout(`${binding.idOnly(result)}\n`);
      else if (view === "content" && binding?.contentOnly) output.stdout(binding.contentOnly(result));
      else if (binding?.print) binding.print(result, output, { streamed });
      else printFields(result, output);
      return binding?.exitCode ? binding.exitCode(result) : 0;
    } catch (error) {
      if (interrupts?.cancelled()) {
        output.stderr("[pyro] cancelled\n");
        return INTERRUPTED_EXIT_CODE;
      }
      return reportError(error, json);
    } finally {
      interrupts?.dispose();
    }
  };
  const program = buildProgram({
    // The original printed its catalog version beside its own; users compare both.
    version: `pyro ${packageVersion()} (environment catalog ${CATALOG_VERSION})`,
    run,
    argv,
    output,
    extraCommands: (root: Command) => {
      root
        .command("mcp")
        .description("MCP server commands")
        .command("serve")
        .description("Serve pyro's tools over MCP on stdin/stdout (stdout carries protocol messages only)")
        .addOption(
          new Option(
            "--profile <profile>",
            `which tools to serve: ${MCP_PROFILES.map((name) => `${name} (${PROFILES[name].summary})`).join("; ")}`,
          )
            .choices(MCP_PROFILES)
            .default(DEFAULT_MCP_PROFILE),
        )
        .action(async (options: { profile: McpProfile }) => {
          await dependencies.serveMcp(pyro, options.profile);
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

