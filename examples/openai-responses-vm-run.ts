/**
 * A tool-calling loop with the official `openai` package and the Responses API: the
 * model gets pyro's `vm_run` and workspace tools (their JSON schemas and descriptions
 * come from pyro's catalog), pyro runs the calls, the results go back to the model.
 *
 *   OPENAI_API_KEY=… npx tsx examples/openai-responses-vm-run.ts "Which git version does debian:12 have?"
 *
 * The endpoint comes from the environment: OPENAI_BASE_URL (any Responses-compatible
 * server), OPENAI_API_KEY, and OPENAI_MODEL (default gpt-4.1-mini).
 */
import OpenAI from "openai";
import type { FunctionTool, ResponseInputItem } from "openai/resources/responses/responses";
import { Pyro, PyroError, mcpToolDefinitions } from "pyro-mcp";

/** The recommended surface for a provider loop: one-shot runs, plus a workspace when state must persist. */
const TOOLS = ["vm_run", "workspace_create", "workspace_exec", "workspace_delete"];

const client = new OpenAI();
const model = process.env.OPENAI_MODEL ?? "gpt-4.1-mini";
const task = process.argv[2] ?? "Use vm_run in debian:12 to find out which git version is installed, then answer in one sentence.";

await using pyro = new Pyro();
const definitions = mcpToolDefinitions().filter((tool) => TOOLS.includes(tool.name));
const tools: FunctionTool[] = definitions.map((tool) => ({
  type: "function",
  name: tool.name,
  description: tool.description ?? null,
  parameters: tool.inputSchema,
  strict: false,
}));

/** Run one tool call; a failure goes back to the model as its error (code, message, hint), so it can fix its input. */
async function runTool(name: string, args: string): Promise<unknown> {
  try {
    return await pyro.callTool(name, JSON.parse(args));
  } catch (error) {
    return error instanceof PyroError ? error.toJSON() : { error: { message: String(error) } };
  }
}

const input: ResponseInputItem[] = [{ role: "user", content: task }];
let answer: string | undefined;
for (let turn = 0; turn < 8 && answer === undefined; turn++) {
  const response = await client.responses.create({ model, input, tools });
  const calls = response.output.filter((item) => item.type === "function_call");
  if (calls.length === 0) answer = response.output_text;
  input.push(...calls);
  for (const call of calls) {
    console.error(`[tool] ${call.name} ${call.arguments}`);
    input.push({ type: "function_call_output", call_id: call.call_id, output: JSON.stringify(await runTool(call.name, call.arguments)) });
  }
}
if (answer === undefined) {
  console.error("the model kept calling tools; giving up after 8 turns");
  process.exitCode = 1;
} else console.log(answer);
