/**
 * Renders `src/sdk/methods.generated.ts`: one typed method per operation of
 * the catalog, with the operation's summary and details as its JSDoc, so
 * editors and the emitted `.d.ts` document every SDK method.
 *
 * `scripts/generate-sdk-methods.mjs` writes the file (the build runs it);
 * `test/sdk/methods.test.ts` fails while the checked-in file differs from
 * what this renders.
 */
import type { z } from "zod";
import { CANCELLABLE_CREATES, NARROWED_RESULTS, OPERATIONS, STREAMING_OPERATIONS, type Operation, type OperationName } from "../src/contract/index.js";

/** Where the rendered file lives, relative to the repository root. */
export const GENERATED_PATH = "src/sdk/methods.generated.ts";

/** Wrap prose into comment lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A sentence ends with a period in JSDoc; summaries are written without one (they double as `--help` lines). */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Text that cannot end the comment it is written into. */
function commentSafe(text: string): string {
  return text.replace(/\*\//g, "*\\/");
}

/** Whether every input field may be left out, so the method's argument is optional. */
function inputOptional(input: z.ZodObject): boolean {
  return Object.values(input.shape).every((field) => (field as z.ZodType).safeParse(undefined).success);
}

function renderMethod(name: string, operation: Operation): string {
  const doc = [
    ...wrap(commentSafe(sentence(operation.summary)), 96),
    ...(operation.details ? ["", ...wrap(commentSafe(operation.details), 96)] : []),
    "",
    operation.mcp ? `MCP tool \`${operation.mcp}\`.` : "SDK and CLI only: no MCP tool.",
  ];
  const optional = inputOptional(operation.input) ? "?" : "";
  // A command's live output, abort and signals come as a second argument (CommandCallOptions).
  const streams = (STREAMING_OPERATIONS as readonly string[]).includes(name);
  if (streams) doc.push("", ...wrap("`options` streams the command's output as it arrives (`onStdout`, `onStderr`, secrets redacted), aborts it (`signal`) or signals it (`onStart`); the result is the same.", 96));
  // A create that waits for a boot slot or boots can be cancelled (CreateCallOptions).
  const cancellable = (CANCELLABLE_CREATES as readonly string[]).includes(name);
  if (cancellable) doc.push("", ...wrap("`options.signal` cancels the create while it waits for a boot slot or boots: what it made is deleted and the call rejects with the abort's reason. `options.onProgress` receives this call's phase lines.", 96));
  const second = streams ? ", options?: CommandCallOptions" : cancellable ? ", options?: CreateCallOptions" : "";
  // Where the input decides the result's shape, the method is generic in its input so the result narrows.
  const narrowed = NARROWED_RESULTS.has(name as OperationName);
  const generic = narrowed ? `<const I extends OperationInput<"${name}">>` : "";
  const params = `input${optional}: ${narrowed ? "I" : `OperationInput<"${name}">`}${second}`;
  const returns = narrowed ? `Promise<ResultFor<"${name}", I>>` : `Promise<OperationResult<"${name}">>`;
  const body = `    return this.call("${name}", input${second ? ", options" : ""})${narrowed ? ` as ${returns}` : ""};`;
  return ["  /**", ...doc.map((line) => (line ? `   * ${line}` : "   *")), "   */", `  ${name}${generic}(${params}): ${returns} {`, body, "  }"].join("\n");
}

/** The whole generated file for these operations (the catalog by default). */
export function renderSdkMethods(operations: Record<string, Operation> = OPERATIONS): string {
  const methods = Object.entries(operations).map(([name, operation]) => renderMethod(name, operation));
  return `// Generated from the operation catalog (src/contract/catalog.ts) by scripts/generate.mjs: do not edit.
// \`npm run generate:sdk\` rewrites it (so does the build); test/sdk/methods.test.ts fails while it is stale.
import type { CallOptions, CommandCallOptions, CreateCallOptions, OperationInput, OperationName, OperationResult, ResultFor } from "../contract/index.js";

/**
 * One typed, documented method per operation of the catalog, each a call of
 * {@link OperationMethods.call}. \`Pyro\` extends this class and implements \`call\`.
 */
export abstract class OperationMethods {
  /**
   * Call an operation by its SDK name. The input is validated against the
   * operation's schema (failures are \`invalid_argument\`), and the result
   * against its contract.
   */
  abstract call<K extends OperationName>(name: K, input?: unknown, options?: CallOptions): Promise<OperationResult<K>>;

${methods.join("\n\n")}
}
`;
}
