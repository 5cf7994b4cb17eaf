/**
 * pyro's tools in the Vercel AI SDK (`ai`): each tool is the SDK's `tool()` over a pyro
 * call, its input schema pyro's own (JSON Schema from the catalog), and `generateText`
 * runs the tool loop. Any OpenAI-compatible chat endpoint works through
 * `@ai-sdk/openai-compatible`.
 *
 *   OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_MODEL=llama3.2:3b npx tsx examples/vercel-ai-sdk.ts
 *
 * Environment: OPENAI_BASE_URL (default https://api.openai.com/v1), OPENAI_API_KEY, OPENAI_MODEL.
 */
import { generateText, jsonSchema, stepCountIs, tool, type JSONSchema7, type ToolSet } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { Pyro, mcpToolDefinitions } from "pyro-mcp";

const TOOLS = ["vm_run", "workspace_create", "workspace_exec", "workspace_delete"];

const provider = createOpenAICompatible({
  name: "openai-compatible",
  baseURL: process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
  apiKey: process.env.OPENAI_API_KEY,
});
const prompt = process.argv[2] ?? "Use vm_run in debian:12 to find out which git version is installed, then answer in one sentence.";

await using pyro = new Pyro();
const tools: ToolSet = {};
for (const definition of mcpToolDefinitions().filter((candidate) => TOOLS.includes(candidate.name))) {
  tools[definition.name] = tool({
    description: definition.description,
    inputSchema: jsonSchema(definition.inputSchema as JSONSchema7),
    // pyro validates the input itself; a PyroError reaches the model as the tool's error.
    execute: (input) => pyro.callTool(definition.name, input),
  });
}

const result = await generateText({
  model: provider.chatModel(process.env.OPENAI_MODEL ?? "gpt-4.1-mini"),
  tools,
  stopWhen: stepCountIs(8),
  prompt,
});
for (const step of result.steps) for (const call of step.toolCalls) console.error(`[tool] ${call.toolName} ${JSON.stringify(call.input)}`);
console.log(result.text);
