/**
 * Renders `docs/public-contract.md` from the operation catalog: for each
 * operation its SDK method, MCP tool and CLI command (with the flags the real
 * `pyro` program has), its input fields and its result fields; then the error
 * codes and exit codes.
 *
 * `scripts/generate.mjs` writes the file (the build runs it);
 * `test/docs/public-contract.test.ts` fails while the checked-in page differs
 * from what this renders.
 */
import type { Command, Option } from "commander";
import { z } from "zod";
import { OPERATIONS, OPERATION_NAMES, type OperationName } from "../src/contract/index.js";
import { ERROR_CODES } from "../src/util/errors.js";
import { CLI_BINDINGS } from "../src/cli/bindings.js";
import { bindingOf } from "../src/cli/binding.js";
import { EXIT_CODES, USAGE_EXIT_CODE } from "../src/cli/exit-codes.js";
import { buildProgram } from "../src/cli/program.js";

/** Where the rendered page lives, relative to the repository root. */
export const PUBLIC_CONTRACT_PATH = "docs/public-contract.md";

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
};

/** A table cell: no line breaks, no column breaks. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
}

/** A short type name for a JSON schema node. */
function typeName(node: JsonSchema): string {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (node.const !== undefined) return JSON.stringify(node.const);
  const branches = node.anyOf ?? node.oneOf;
  if (branches) return [...new Set(branches.map(typeName))].join(" or ");
  if (node.type === "array") return `${node.items ? typeName(node.items) : "any"}[]`;
  if (Array.isArray(node.type)) return node.type.join(" or ");
  if (node.type === "object" && node.additionalProperties && typeof node.additionalProperties === "object" && !node.properties) {
    return `map of ${typeName(node.additionalProperties)}`;
  }
  return node.type ?? "any";
}

function fieldRows(schema: JsonSchema, withDefaults: boolean): string[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, node]) => {
    const when = required.has(name) ? "required" : node.default !== undefined ? `default \`${JSON.stringify(node.default)}\`` : "optional";
    const columns = [`\`${name}\``, cell(typeName(node)), ...(withDefaults ? [when] : []), cell(node.description ?? "")];
    return `| ${columns.join(" | ")} |`;
  });
}

/** Walk to the commander command at `path` (`["workspace", "exec"]`). */
function commandAt(program: Command, path: string[]): Command | undefined {
  let current: Command | undefined = program;
  for (const word of path) current = current?.commands.find((c) => c.name() === word);
  return current;
}

function flagRow(option: Option): string {
  const value = option.defaultValue === undefined ? "" : ` (default \`${JSON.stringify(option.defaultValue)}\`)`;
  return `| \`${option.flags}\` | ${cell(option.description)}${value} |`;
}

function renderOperation(program: Command, name: OperationName): string {
  const operation = OPERATIONS[name];
  const binding = bindingOf(CLI_BINDINGS, name);
  const input = z.toJSONSchema(operation.input, { target: "draft-7", io: "input" }) as JsonSchema;
  const result = z.toJSONSchema(operation.result, { target: "draft-7", io: "output" }) as JsonSchema;
  const lines = [`### ${operation.mcp ?? name}`, "", `${operation.summary}.${operation.details ? ` ${operation.details}` : ""}`, ""];
  lines.push(`- SDK: \`pyro.${name}(…)\``);
  lines.push(`- MCP: ${operation.mcp ? `tool \`${operation.mcp}\`` : "none"}`);
  if (binding) {
    const command = commandAt(program, binding.path);
    const usage = command ? command.usage() : "";
    lines.push(`- CLI: \`pyro ${binding.path.join(" ")}${usage ? ` ${usage}` : ""}\``);
    const flags = (command?.options ?? []).filter((option) => option.long !== "--help");
    if (flags.length > 0) lines.push("", "| flag | meaning |", "|---|---|", ...flags.map(flagRow));
  } else {
    const none = CLI_BINDINGS[name] as { none: string };
    lines.push(`- CLI: none (${none.none})`);
  }
  const inputRows = fieldRows(input, true);
  lines.push("", "Input:", "");
  lines.push(...(inputRows.length > 0 ? ["| field | type | | meaning |", "|---|---|---|---|", ...inputRows] : ["(none)"]));
  const resultRows = result.properties ? fieldRows(result, false) : [];
  lines.push("", "Result:", "");
  lines.push(...(resultRows.length > 0 ? ["| field | type | meaning |", "|---|---|---|", ...resultRows] : [`\`${typeName(result)}\``]));
  return lines.join("\n");
}

/** The whole page, from the current catalog and CLI. */
export function renderPublicContract(): string {
  const program = buildProgram({ version: "0.0.0", run: async () => 0, extraCommands: () => {}, output: { stdout: () => {}, stderr: () => {} } });
  const sections = OPERATION_NAMES.map((name) => renderOperation(program, name));
  const errorRows = ERROR_CODES.map((code) => `| \`${code}\` | ${EXIT_CODES[code]} | [${code}](troubleshooting.md#${code}) |`);
  return `<!-- Generated from the operation catalog by scripts/generate.mjs: do not edit. \`npm run generate\` rewrites it; test/docs/public-contract.test.ts fails while it is stale. -->
# Public contract

What users of pyro may rely on: every operation with its SDK method, MCP tool and CLI
command, its input and its result. The three faces share one catalog
(\`src/contract/catalog.ts\`), so a field means the same everywhere: the CLI spells
\`timeout_seconds\` as \`--timeout-seconds\`, the SDK and MCP as \`timeout_seconds\`.
Unknown input fields are refused (\`invalid_argument\`, naming the closest valid one).

Every CLI command takes \`--json\` (one JSON object on stdout, also for errors).
Long-running commands report progress on stderr (\`[run] …\`, \`[pull] …\`), never on stdout.
\`pyro mcp serve\` serves every tool below over stdio; \`pyro demo\` and
\`pyro demo ollama\` are demonstrations, not part of the contract.

## Operations

${sections.join("\n\n")}

## Errors and exit codes

Every error has a code (JSON: \`{"error": {"code", "message", "hint", "docs"}}\`). The CLI's
exit code says which; a usage error (unknown flag, missing argument) exits ${USAGE_EXIT_CODE}.
A command that ran in a guest exits with that command's exit code.

| code | CLI exit code | causes and fixes |
|---|---|---|
${errorRows.join("\n")}
`;
}
