import type { z } from "zod";

/**
 * One public operation. Its schemas are the single source of the SDK's types,
 * the MCP tool's input/output schemas and the CLI's `--json` shape.
 */
export interface Operation<I extends z.ZodObject = z.ZodObject, R extends z.ZodType = z.ZodType> {
  /** MCP tool name, or null where CONTRACT.md gives this operation no tool. */
  mcp: string | null;
  /** One line for `--help`, the SDK's JSDoc and the MCP tool description. */
  summary: string;
  input: I;
  result: R;
}

/** Identity helper that keeps the literal schema types of an operation. */
export function defineOperation<I extends z.ZodObject, R extends z.ZodType>(operation: Operation<I, R>): Operation<I, R> {
  return operation;
}
