import type { z } from "zod";
import { strictObject } from "./strict.js";

/**
 * One public operation. Its schemas are the single source of the SDK's types,
 * the MCP tool's input/output schemas and the CLI's `--json` shape.
 */
export interface Operation<I extends z.ZodObject = z.ZodObject, R extends z.ZodType = z.ZodType> {
  /** MCP tool name, or null where CONTRACT.md gives this operation no tool. */
  mcp: string | null;
  /** One line for `--help`, the SDK's JSDoc and the MCP tool description. */
  summary: string;
  /**
   * What a model must know beyond the summary (limits, surprises); appended
   * to the MCP tool description.
   */
  details?: string;
  /** The input; unknown fields are refused (see {@link strictObject}). */
  input: I;
  result: R;
}

/**
 * Keeps the literal schema types of an operation, and makes its input refuse
 * unknown fields, so no operation can forget to.
 */
export function defineOperation<I extends z.ZodObject, R extends z.ZodType>(operation: Operation<I, R>): Operation<I, R> {
  // Same shape, same parsed type; only unknown keys now fail instead of being stripped.
  return { ...operation, input: strictObject(operation.input.shape) as unknown as I };
}
