/**
 * `vm_run` as a LangChain tool (`@langchain/core`): a thin adapter whose schema is pyro's
 * own (the catalog's zod schema), so any LangChain agent or model with tool calling can
 * bind it (`model.bindTools([vmRun])`). Here the tool is invoked directly, as an agent
 * executor would.
 *
 *   npx tsx examples/langchain-vm-run.ts "uname -a"
 */
import { tool } from "@langchain/core/tools";
import { OPERATIONS, Pyro } from "pyro-mcp";

await using pyro = new Pyro();

/** One-shot command in a fresh VM; the model sees the tool's description and schema from pyro's catalog. */
const vmRun = tool(async (input) => JSON.stringify(await pyro.runInVm(input)), {
  name: "vm_run",
  description: OPERATIONS.runInVm.summary,
  schema: OPERATIONS.runInVm.input,
});

const command = process.argv[2] ?? "git --version";
const output = await vmRun.invoke({ environment: "debian:12", command });
const result = JSON.parse(output) as { exit_code: number; stdout: string };
console.log(result.stdout.trim());
process.exitCode = result.exit_code;
